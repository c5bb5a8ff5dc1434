"""The base of every error this project raises on purpose.

Each error says what is wrong and what to do; callers that only need to report it (the
command line, the page) catch :class:`HipecError` instead of a tuple of types. The
concrete errors live with what they guard (schema, data, bundle, registry, manifest,
published evidence) and keep their built-in bases (ValueError for bad input,
RuntimeError for an unusable bundle or registry).
"""

from __future__ import annotations

__all__ = ["HipecError"]


class HipecError(Exception):
    """An expected failure with a message meant for the user."""
