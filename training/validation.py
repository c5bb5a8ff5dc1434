"""Former name of :mod:`training.bootstrap` (bootstrap internal validation).

Kept only while ``training/fit.py`` still imports ``training.validation``; delete this file
once it imports :func:`training.bootstrap.bootstrap_validation`.
"""

from training.bootstrap import SCALAR_METRICS, bootstrap_validation

__all__ = ["SCALAR_METRICS", "bootstrap_validation"]
