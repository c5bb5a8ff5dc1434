"""Model bundles: a folder per trained version, verified before anything is unpickled.

Layout::

    <version_id>/
        manifest.json      version, schema, data provenance, library versions,
                           metrics, time grid, and the SHA-256 of every other file
        coxnet.joblib      fitted pipelines (joblib, lz4-compressed)
        rsf.joblib
        report.html        validation report
        report.json

Pickle files run code when loaded, so :func:`load_bundle` first checks the
manifest's format, every file's SHA-256 and the library versions, and refuses
with a clear message before calling ``joblib.load``. Each pickle is read into
memory once, hashed, and unpickled from those same bytes, so a file changed
between the check and the load is never unpickled either.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import uuid
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.errors import HipecError
from model.fileio import atomic_write_json, pid_alive
from model.fileio import fsync_path as _fsync  # by this name: tests make it fail
from model.manifest import Manifest, ManifestError
from model.schema import Schema, bundled_schema

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BUNDLE_FORMAT",
    "Bundle",
    "BundleError",
    "library_versions",
    "load_bundle",
    "read_manifest",
    "remove_stale_temporaries",
    "sha256_file",
    "verify_bundle",
    "write_bundle",
]

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
# the libraries whose pickles must match exactly
PINNED_LIBRARIES = ("scikit-learn", "scikit-survival", "numpy", "scipy", "pandas", "joblib")
# lz4 decompresses faster than zlib at a similar size (forest: 0.20 s vs 0.32 s to load)
COMPRESSION = ("lz4", 3)


class BundleError(HipecError, RuntimeError):
    """A bundle cannot be used: missing, altered, or made with other library versions."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PINNED_LIBRARIES:
        out[name] = metadata.version(name)
    return out


def write_bundle(
    root: Path,
    version_id: str,
    models: dict,
    manifest: Manifest,
    extra_files: dict[str, bytes] | None = None,
    artifacts: dict | None = None,
) -> Path:
    """Write a bundle atomically: into a hidden temporary folder, then one rename.

    A crash at any point leaves either no bundle or a complete one; the temporary
    folder of a crashed write is ignored by the registry and removed by the next
    write (:func:`remove_stale_temporaries`).
    """
    import joblib

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    final = root / version_id
    if final.exists():
        raise BundleError(f"a bundle named {version_id} already exists in {root}")
    tmp = root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{version_id}"
    tmp.mkdir()
    try:
        files = {}
        for name, pipe in models.items():
            fname = f"{name}.joblib"
            joblib.dump(pipe, tmp / fname, compress=COMPRESSION)
            files[fname] = sha256_file(tmp / fname)
        for name, obj in (artifacts or {}).items():
            fname = f"{name}.joblib"
            joblib.dump(obj, tmp / fname, compress=COMPRESSION)
            files[fname] = sha256_file(tmp / fname)
        for fname, content in (extra_files or {}).items():
            (tmp / fname).write_bytes(content)
            files[fname] = sha256_file(tmp / fname)
        doc = manifest.replace(
            format=BUNDLE_FORMAT,
            version_id=version_id,  # the folder's name, whatever the manifest says
            models={name: replace(manifest.models[name], file=f"{name}.joblib") for name in models},
            artifacts={name: f"{name}.joblib" for name in (artifacts or {})},
            libraries=library_versions(),
            files=files,
        )
        _write_json(tmp / MANIFEST, doc.to_dict())
        for p in tmp.iterdir():
            _fsync(p)
        os.rename(tmp, final)
        _fsync(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


TMP_PREFIX = ".tmp-"  # temporary bundle folders: .tmp-<pid>-<random>-<version id>


def remove_stale_temporaries(root: Path) -> list[str]:
    """Remove the temporary folders of bundle writes whose process has died; return them.

    A write in progress in another process (its pid is alive) is left alone, so two
    trainings can share a registry folder. Names not in the current pattern (older
    versions) are removed only when more than a day old.
    """
    import time

    removed = []
    for p in Path(root).glob(f"{TMP_PREFIX}*"):
        if not p.is_dir():
            continue
        pid_text = p.name[len(TMP_PREFIX) :].split("-", 1)[0]
        try:
            stale = not pid_alive(int(pid_text))
        except ValueError:
            try:
                stale = time.time() - p.stat().st_mtime > 86400
            except OSError:
                continue
        if stale:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    return removed


def _write_json(path: Path, doc: dict) -> None:
    atomic_write_json(path, doc, default=_json_default)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_manifest(path: Path, expected_sha256: str | None = None) -> Manifest:
    """Parse a bundle's manifest (JSON only, nothing executable); the one reader of it.

    With ``expected_sha256`` (what the registry recorded), the bytes parsed are the bytes
    checked: a manifest edited after registration is refused.
    """
    path = Path(path)
    mpath = path / MANIFEST
    if not path.is_dir():
        raise BundleError(f"no bundle at {path}")
    if not mpath.is_file():
        raise BundleError(f"{path} is not a bundle: it has no {MANIFEST}")
    try:
        raw = mpath.read_bytes()
    except OSError as exc:
        raise BundleError(f"{mpath} cannot be read ({exc.strerror or exc})") from None
    if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise BundleError(
            f"bundle {path.name}: its manifest differs from the one recorded when it was "
            "registered; it will not be loaded"
        )
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath} is not valid JSON ({exc}); the bundle is damaged") from None
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{path}: bundle format {doc.get('format') if isinstance(doc, dict) else '?'} "
            f"is not supported (this version reads format {BUNDLE_FORMAT})"
        )
    try:
        return Manifest.from_dict(doc)
    except ManifestError as exc:
        raise BundleError(f"{path}: the manifest is malformed ({exc})") from None


def verify_bundle(
    path: Path, check_versions: bool = True, manifest_sha256: str | None = None
) -> Manifest:
    """Check a bundle without unpickling it; return its manifest or raise BundleError.

    ``manifest_sha256``: the manifest's recorded hash (see :func:`read_manifest`).
    """
    path = Path(path)
    doc = read_manifest(path, manifest_sha256)
    _check_files(path, doc.files)
    _check_nothing_added(path, doc.files)
    _check_references(path, doc)
    if check_versions:
        _check_libraries(path, doc.libraries)
    return doc


def _check_files(path: Path, files: dict) -> None:
    """Every listed file is present, inside the folder, and has its recorded SHA-256."""
    if not files:
        raise BundleError(f"{path}: the manifest lists no files")
    for fname, expected in files.items():
        fpath = path / str(fname)
        if not isinstance(fname, str) or Path(fname).name != fname or not fpath.is_file():
            raise BundleError(f"{path}: file {fname} listed in the manifest is missing")
        if sha256_file(fpath) != expected:
            raise BundleError(_altered(path, fname))


def _check_nothing_added(path: Path, files: dict) -> None:
    """No pickle was slipped into the folder beside the listed files."""
    unlisted = sorted(
        p.name for p in path.iterdir() if p.is_file() and p.name != MANIFEST and p.name not in files
    )
    if any(n.endswith((".joblib", ".pkl", ".pickle")) for n in unlisted):
        raise BundleError(
            f"{path}: unlisted files {unlisted} were added; the bundle will not be loaded"
        )


def _check_references(path: Path, doc: Manifest) -> None:
    """Every model and artifact points to a verified file."""
    for name, info in doc.models.items():
        if info.file not in doc.files:
            raise BundleError(f"{path}: model {name} has no verified file")
    for name, fname in doc.artifacts.items():
        if not isinstance(fname, str) or fname not in doc.files:
            raise BundleError(f"{path}: {name} has no verified file")


def _check_libraries(path: Path, built: dict) -> None:
    """Pickles load faithfully only with the library versions that wrote them."""
    have = library_versions()
    diff = [
        f"{lib} {built.get(lib)} (installed {have[lib]})"
        for lib in PINNED_LIBRARIES
        if built.get(lib) != have[lib]
    ]
    if diff:
        raise BundleError(
            f"{path} was built with other library versions: {', '.join(diff)}. "
            "Install the versions in requirements.txt or retrain the model."
        )


@dataclass
class Bundle:
    """A verified, loaded bundle."""

    path: Path
    manifest: Manifest
    schema: Schema
    models: dict
    grid: np.ndarray
    artifacts: dict = field(default_factory=dict)

    @property
    def version_id(self) -> str:
        return self.manifest.version_id

    @property
    def default_model(self) -> str:
        return self.manifest.default_model

    @property
    def risk_horizon(self) -> float:
        return self.manifest.risk_horizon_months

    def reference_patient(self) -> pd.DataFrame:
        """The training data's typical patient (median or most common values), one row."""
        import pandas as pd  # here: every start verifies bundles long before a table is needed

        ref = pd.DataFrame([self.manifest.reference_patient])[self.schema.feature_names]
        for f in self.schema.features:
            if not f.is_text:
                ref[f.name] = pd.to_numeric(ref[f.name], errors="coerce").astype(float)
        return ref

    def survival(self, X: pd.DataFrame, model: str | None = None) -> np.ndarray:
        """Curves on the bundle's grid for validated feature rows."""
        name = model or self.default_model
        if name not in self.models:
            raise KeyError(
                f"bundle {self.version_id} has no model {name!r}; it has {list(self.models)}"
            )
        from model.predict import survival_on_grid  # scikit-learn: imported when used

        return survival_on_grid(
            self.models[name], X[self.schema.feature_names], self.grid, times=self._times[name]
        )

    def __post_init__(self):
        import pandas as pd

        from model.predict import event_times

        probe = pd.DataFrame([{f.name: np.nan for f in self.schema.features}])
        for f in self.schema.features:
            if f.is_text:
                probe[f.name] = probe[f.name].astype(object)
        self._times = {name: event_times(m, probe) for name, m in self.models.items()}


def _altered(path: Path, fname: str) -> str:
    return (
        f"{path}: {fname} does not match its recorded SHA-256; the bundle was altered "
        "or damaged and will not be loaded"
    )


def _load_verified(path: Path, fname: str, expected: str):
    """Unpickle a file from the very bytes whose SHA-256 is checked (no second read)."""
    import joblib

    data = (Path(path) / fname).read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise BundleError(_altered(path, fname))
    return joblib.load(io.BytesIO(data))


def load_bundle(
    path: Path, check_versions: bool = True, manifest_sha256: str | None = None
) -> Bundle:
    """Verify, then load a bundle (forest set to one job for fast single predictions).

    ``manifest_sha256``: the manifest's hash recorded by the registry, checked on the
    bytes that are parsed.
    """
    doc = verify_bundle(path, check_versions=check_versions, manifest_sha256=manifest_sha256)
    files = doc.files
    models = {}
    for name, info in doc.models.items():
        models[name] = _load_verified(path, info.file, files[info.file])
        est = models[name][-1]
        if hasattr(est, "n_jobs"):
            est.n_jobs = 1
    artifacts = {
        name: _load_verified(path, fname, files[fname]) for name, fname in doc.artifacts.items()
    }
    return Bundle(
        path=Path(path),
        manifest=doc,
        schema=bundled_schema(doc.schema),
        models=models,
        grid=np.asarray(doc.grid_months, dtype=float),
        artifacts=artifacts,
    )
