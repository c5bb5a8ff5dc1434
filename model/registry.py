"""The model registry: the bundles in one folder, which one is active, and its history.

``registry.json`` records, for each registered bundle, the SHA-256 of its
manifest (so a manifest edited after training is caught), which bundle is
active, and the previously active ones for rollback. Every change is a locked
read-modify-write ending in an atomic rename, so the file is always complete.

Crash safety (tested by killing training and registry commands with SIGKILL at
random points and at every file operation, tests/hardening/test_crash_safety.py):
a bundle folder appears by one rename only when complete, and is registered only
after that; registry.json is replaced by one rename only when complete; a killed
write leaves at most a hidden temporary (``.tmp-*`` folder or ``.registry.json.*``
file) that nothing reads and the next write removes. So after any crash
registry.json parses, every bundle it lists verifies, and the active one loads.

:meth:`Registry.load_last_good` is the one way to serve a bundle with a fallback: the
active one (or the one chosen in the page's sidebar), else the most recent previously
active bundle that passes every check, in :meth:`Registry.fallback_order`. The page calls
it with its chosen bundle and its cached loader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from model.bundle import (
    MANIFEST,
    Bundle,
    BundleError,
    load_bundle,
    read_manifest,
    sha256_file,
    verify_bundle,
)
from model.errors import HipecError
from model.fileio import atomic_write_json, locked

__all__ = ["LoadResult", "NothingServable", "Registry", "RegistryError"]

INDEX = "registry.json"
LOCK = ".lock"


class RegistryError(HipecError, RuntimeError):
    """A registry operation cannot be done (unknown id, nothing to roll back to, ...)."""


class NothingServable(RegistryError):
    """Every bundle :meth:`Registry.load_last_good` tried was refused.

    Attributes
    ----------
    skipped : list of (version id, reason)
        Each bundle tried, in order, with the message it was refused with.
    """

    def __init__(self, message: str, skipped: list[tuple[str, str]]):
        super().__init__(message)
        self.skipped = skipped


@dataclass
class LoadResult:
    """What :meth:`Registry.load_last_good` served, and what it had to skip.

    Attributes
    ----------
    bundle : Bundle
        The loaded, fully verified bundle.
    skipped : list of (version id, reason)
        Bundles tried before it, in the order tried, each with the message it was refused
        with. Empty when the first candidate (the chosen or the active bundle) loaded.
    """

    bundle: Bundle
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def version_id(self) -> str:
        return self.bundle.version_id

    @property
    def fell_back(self) -> bool:
        """True when the first candidate was refused and another one is served."""
        return bool(self.skipped)


class Registry:
    """Bundles under ``root``; the active one is what the page serves."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    # ------------------------------------------------------------------ state
    def _read(self) -> dict:
        path = self.root / INDEX
        if not path.exists():
            return {"bundles": {}, "active": None, "history": []}
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RegistryError(f"{path} is damaged ({exc})") from None
        except OSError as exc:
            raise RegistryError(f"{path} cannot be read ({exc.strerror or exc})") from None
        problem = _index_problem(doc)
        if problem:
            raise RegistryError(f"{path} is damaged: {problem}")
        return doc

    def _write(self, doc: dict) -> None:
        # temporary, fsync, one rename, folder fsync; removes copies left by killed writes
        atomic_write_json(self.root / INDEX, doc)

    @contextmanager
    def _locked(self):
        with locked(self.root / LOCK):
            yield self._read()

    # ------------------------------------------------------------------ verbs
    def register(self, bundle_path: Path) -> str:
        """Record a freshly written bundle (not active until promoted)."""
        bundle_path = Path(bundle_path)
        doc = verify_bundle(bundle_path, check_versions=False)
        vid = doc.version_id
        if bundle_path.resolve().parent != self.root.resolve() or bundle_path.name != vid:
            raise RegistryError(f"{bundle_path} is not a bundle folder of {self.root}")
        with self._locked() as reg:
            if vid in reg["bundles"]:
                raise RegistryError(
                    f"{vid} is already registered; its recorded manifest SHA-256 is kept"
                )
            reg["bundles"][vid] = {
                "manifest_sha256": sha256_file(bundle_path / MANIFEST),
                "registered": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._write(reg)
        return vid

    def ids(self) -> list[str]:
        return list(self._read()["bundles"])

    @property
    def active_id(self) -> str | None:
        return self._read()["active"]

    def path(self, version_id: str) -> Path:
        if version_id not in self._read()["bundles"]:
            known = ", ".join(self.ids()) or "none"
            raise RegistryError(f"no bundle {version_id!r} in {self.root} (registered: {known})")
        return self.root / version_id

    def _entry(self, version_id: str) -> dict:
        entry = self._read()["bundles"].get(version_id)
        if entry is None:
            raise RegistryError(f"no bundle {version_id!r} in {self.root}")
        mpath = self.root / version_id / MANIFEST
        if not mpath.is_file() or sha256_file(mpath) != entry["manifest_sha256"]:
            raise BundleError(
                f"bundle {version_id}: its manifest is missing or differs from the one recorded "
                "when it was trained; it will not be loaded"
            )
        return entry

    def verify(self, version_id: str) -> dict:
        """Check the recorded manifest SHA-256, then every file and library version."""
        entry = self._entry(version_id)
        return verify_bundle(self.root / version_id, manifest_sha256=entry["manifest_sha256"])

    def load(self, version_id: str | None = None) -> Bundle:
        """Load a registered bundle (the active one by default) after full verification.

        Raises RegistryError (nothing active, unknown id) or BundleError (the bundle is
        altered, incomplete, or made with other library versions) with the reason; nothing
        is unpickled from a bundle that fails a check. The page should call
        :meth:`load_last_good` instead, which falls back to an earlier bundle.
        """
        vid = version_id or self.active_id
        if vid is None:
            raise RegistryError(f"no active bundle in {self.root}; train one and promote it")
        entry = self._entry(vid)
        return load_bundle(self.root / vid, manifest_sha256=entry["manifest_sha256"])

    def fallback_order(self, first: str | None = None) -> list[str]:
        """Which bundles to serve, in order: ``first`` (a bundle someone chose), the active
        one, then the previously active ones newest first; each once."""
        reg = self._read()
        order: list[str] = []
        for vid in [first, reg["active"], *reversed(reg["history"])]:
            if vid is not None and vid not in order:
                order.append(vid)
        return order

    def load_last_good(
        self,
        first: str | None = None,
        *,
        then: Iterable[str] = (),
        load: Callable[[str], Bundle] | None = None,
    ) -> LoadResult:
        """Load the active bundle or, if it is refused, the last good one before it.

        Tries the bundles of :meth:`fallback_order` (``first`` if given, the active one,
        then the previously active ones, the rollback history, newest first), then those
        of ``then`` not tried yet, and returns the first that passes every check
        (recorded manifest SHA-256, every file's SHA-256, library versions; see
        :meth:`load`) and unpickles, with the id and reason of each one it skipped.
        Nothing is written: the registry still names the refused bundle as active, so
        ``python -m training models active`` keeps reporting the problem until someone
        rolls back or promotes another bundle.

        Parameters
        ----------
        first : str, optional
            The bundle someone chose (the page's sidebar); tried before the active one.
        then : iterable of str
            Further bundles to try last, in this order (the page: every bundle it lists).
        load : callable, optional
            How one bundle is loaded, by id; :meth:`load` by default. The page passes a
            cached loader that calls :meth:`load` once per bundle and process.

        Typical use::

            result = Registry("models").load_last_good()
            if result.fell_back:
                show_warning(
                    f"serving {result.version_id}: "
                    + "; ".join(f"{vid} refused ({why})" for vid, why in result.skipped)
                )
            engine = Engine(result.bundle)

        Raises
        ------
        RegistryError
            Nothing can be served: registry.json is damaged, or no bundle was ever active
            and none was chosen.
        NothingServable
            Every candidate was refused (the message lists each one and why; so does its
            ``skipped``).
        """
        candidates = self.fallback_order(first)
        candidates += [vid for vid in dict.fromkeys(then) if vid not in candidates]
        if not candidates:
            raise RegistryError(f"no active bundle in {self.root}; train one and promote it")
        load = load or self.load
        skipped: list[tuple[str, str]] = []
        for vid in candidates:
            try:
                bundle = load(vid)
            except (BundleError, RegistryError) as exc:
                skipped.append((vid, str(exc)))
            except Exception as exc:  # unpickling a verified file can still fail
                skipped.append((vid, f"{type(exc).__name__}: {exc}"))
            else:
                return LoadResult(bundle=bundle, skipped=skipped)
        raise NothingServable(
            f"no bundle in {self.root} can be served:\n"
            + "\n".join(f"  - {vid}: {why}" for vid, why in skipped),
            skipped,
        )

    def promote(self, version_id: str, *, if_active: str | None = None) -> None:
        """Make a verified bundle the active one; the previous one goes on the history.

        Parameters
        ----------
        version_id : str
            The bundle to activate.
        if_active : str, optional
            Promote only while this bundle is still the active one (checked under the
            registry's lock), so that an unattended build never replaces a bundle that
            somebody promoted in the meantime. Raises :class:`RegistryError` otherwise.
        """
        self.verify(version_id)
        with self._locked() as reg:
            if version_id not in reg["bundles"]:
                raise RegistryError(f"no bundle {version_id!r} in {self.root}")
            if if_active is not None and reg["active"] != if_active:
                raise RegistryError(
                    f"not promoting {version_id}: the active bundle is now {reg['active']}, "
                    f"not {if_active}"
                )
            if reg["active"] == version_id:
                return
            if reg["active"] is not None:
                reg["history"].append(reg["active"])
            reg["active"] = version_id
            self._write(reg)

    def rollback(self) -> str:
        """Re-activate the previously active bundle; return its id."""
        with self._locked() as reg:
            if not reg["history"]:
                raise RegistryError("nothing to roll back to: no bundle was active before this one")
            previous = reg["history"][-1]
            self.verify(previous)
            reg["history"].pop()
            reg["active"] = previous
            self._write(reg)
            return previous

    def unregistered(self) -> list[str]:
        """Bundle folders written completely but never registered (training stopped between
        writing the folder and registering it); they are kept, never deleted."""
        known = set(self._read()["bundles"])
        try:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        except OSError:
            return []
        return [
            p.name
            for p in folders
            if not p.name.startswith(".") and p.name not in known and (p / MANIFEST).is_file()
        ]

    def rows(self) -> list[dict]:
        """One summary per bundle, newest first, for ``models list``."""
        # here, not at the top: every start reads the registry before scikit-learn is needed
        from model.families import headline_metrics

        reg = self._read()
        out = []
        for vid in reg["bundles"]:
            row = {"version_id": vid, "active": vid == reg["active"]}
            try:
                doc = read_manifest(self.root / vid)
                row.update(
                    created=doc.created,
                    default_model=doc.default_model,
                    models=list(doc.models),
                    rows=doc.training_data.rows,
                    harrell_c=headline_metrics(doc, doc.default_model)[1].get("harrell_c"),
                )
            except BundleError:
                row["problem"] = "manifest unreadable"
            out.append(row)
        return sorted(out, key=lambda r: r.get("created") or "", reverse=True)


def _index_problem(doc) -> str | None:
    """What is wrong with the structure of a parsed registry.json, if anything."""
    if not isinstance(doc, dict):
        return "it is not a JSON object"
    bundles, active, history = doc.get("bundles"), doc.get("active"), doc.get("history")
    if not isinstance(bundles, dict) or not all(
        isinstance(e, dict) and isinstance(e.get("manifest_sha256"), str) for e in bundles.values()
    ):
        return "'bundles' must map each version id to its manifest SHA-256"
    if active is not None and (not isinstance(active, str) or active not in bundles):
        return f"the active bundle {active!r} is not registered"
    if not isinstance(history, list) or not all(
        isinstance(v, str) and v in bundles for v in history
    ):
        return "'history' must list registered bundles"
    return None
