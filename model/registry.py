"""The model registry: the bundles in one folder, which one is active, and its history.

``registry.json`` records, for each registered bundle, the SHA-256 of its
manifest (so a manifest edited after training is caught), which bundle is
active, and the previously active ones for rollback. Every change is a locked
read-modify-write ending in an atomic rename, so the file is always complete.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from model.bundle import MANIFEST, Bundle, BundleError, load_bundle, sha256_file, verify_bundle

__all__ = ["Registry", "RegistryError"]

INDEX = "registry.json"


class RegistryError(RuntimeError):
    """A registry operation cannot be done (unknown id, nothing to roll back to, ...)."""


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
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{path} is damaged ({exc})") from None

    def _write(self, doc: dict) -> None:
        path = self.root / INDEX
        tmp = path.with_name(f".{INDEX}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._read()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ verbs
    def register(self, bundle_path: Path) -> str:
        """Record a freshly written bundle (not active until promoted)."""
        bundle_path = Path(bundle_path)
        doc = verify_bundle(bundle_path, check_versions=False)
        vid = doc["version_id"]
        if bundle_path.resolve().parent != self.root.resolve() or bundle_path.name != vid:
            raise RegistryError(f"{bundle_path} is not a bundle folder of {self.root}")
        with self._locked() as reg:
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

    def verify(self, version_id: str) -> dict:
        """Check the recorded manifest SHA-256, then every file and library version."""
        entry = self._read()["bundles"].get(version_id)
        if entry is None:
            raise RegistryError(f"no bundle {version_id!r} in {self.root}")
        mpath = self.root / version_id / MANIFEST
        if not mpath.is_file() or sha256_file(mpath) != entry["manifest_sha256"]:
            raise BundleError(
                f"bundle {version_id}: its manifest is missing or differs from the one recorded "
                "when it was trained; it will not be loaded"
            )
        return verify_bundle(self.root / version_id)

    def load(self, version_id: str | None = None) -> Bundle:
        """Load a registered bundle (the active one by default) after full verification."""
        vid = version_id or self.active_id
        if vid is None:
            raise RegistryError(f"no active bundle in {self.root}; train one and promote it")
        self.verify(vid)
        return load_bundle(self.root / vid)

    def promote(self, version_id: str) -> None:
        """Make a verified bundle the active one; the previous one goes on the history."""
        self.verify(version_id)
        with self._locked() as reg:
            if version_id not in reg["bundles"]:
                raise RegistryError(f"no bundle {version_id!r} in {self.root}")
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

    def rows(self) -> list[dict]:
        """One summary per bundle, newest first, for ``models list``."""
        reg = self._read()
        out = []
        for vid in reg["bundles"]:
            row = {"version_id": vid, "active": vid == reg["active"]}
            try:
                doc = json.loads((self.root / vid / MANIFEST).read_text(encoding="utf-8"))
                row.update(
                    created=doc.get("created"),
                    default_model=doc.get("default_model"),
                    models=list(doc.get("models", {})),
                    rows=doc.get("training_data", {}).get("rows"),
                    harrell_c=doc.get("metrics", {})
                    .get(doc.get("default_model"), {})
                    .get("corrected", {})
                    .get("harrell_c"),
                )
            except (OSError, json.JSONDecodeError):
                row["problem"] = "manifest unreadable"
            out.append(row)
        return sorted(out, key=lambda r: r.get("created") or "", reverse=True)
