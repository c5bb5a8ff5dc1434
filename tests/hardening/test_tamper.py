"""Bundles that cannot be tampered with, at the registry level.

A flipped byte, a swapped file, a bundle from other library versions, a foreign pickle
dropped into the registry: each is refused before anything is unpickled, with a clear
message, and ``Registry.load_last_good`` (what the page serves) falls back to the last good
bundle.

"Before anything is unpickled" is checked with a real malicious pickle: unpickling it runs
code that writes a marker file. Every test asserts the marker is absent afterwards; one test
shows that the marker does appear when such a file is unpickled, so the check means something.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import joblib
import pytest

from model.bundle import BundleError, library_versions
from model.registry import Registry, RegistryError


class Evil:
    """Unpickling this runs exec(...), which writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"with open({self.marker!r}, 'w') as f: f.write('unpickled')",))


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "UNPICKLED"
    yield m
    assert not m.exists(), "a refused file was unpickled: its code ran"


def evil_pickle(path: Path, marker: Path) -> None:
    joblib.dump(Evil(marker), path)


def reseal(folder: Path, **manifest_changes) -> None:
    """Rewrite a bundle's manifest with its files' current hashes (what a forger does)."""
    m = json.loads((folder / "manifest.json").read_text())
    m.update(manifest_changes)
    m["files"] = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in m["files"]
    }
    (folder / "manifest.json").write_text(json.dumps(m))


def add_copy(reg: Registry, src: Path, name: str, register: bool = True) -> Path:
    dest = reg.root / name
    shutil.copytree(src, dest)
    reseal(dest, version_id=name)
    if register:
        reg.register(dest)
    return dest


@pytest.fixture
def reg(tmp_path, small_bundle):
    """Registry with bundles a and b (b's Cox pickle has other bytes), b active, a before it."""
    r = Registry(tmp_path / "models")
    r.root.mkdir()
    add_copy(r, small_bundle, "a")
    b = r.root / "b"
    shutil.copytree(small_bundle, b)
    pipe = joblib.load(b / "coxnet.joblib")
    joblib.dump(pipe, b / "coxnet.joblib", compress=("zlib", 1))  # same model, other bytes
    reseal(b, version_id="b")
    r.register(b)
    r.promote("a")
    r.promote("b")
    return r


def test_the_malicious_pickle_really_runs_code_when_unpickled(tmp_path):
    m = tmp_path / "UNPICKLED"
    evil_pickle(tmp_path / "x.joblib", m)
    joblib.load(tmp_path / "x.joblib")
    assert m.read_text() == "unpickled"


def assert_falls_back_to_a(reg: Registry, match: str) -> None:
    with pytest.raises((BundleError, RegistryError), match=match):
        reg.load()
    result = reg.load_last_good()
    assert result.version_id == "a" and result.fell_back
    assert [vid for vid, _ in result.skipped] == ["b"]
    assert (
        pytest.approx(1.0)
        == result.bundle.survival(result.bundle.reference_patient(), "coxnet")[0, 0]
    )
    assert reg.active_id == "b"  # the page writes nothing; the operator decides


# ------------------------------------------------------------------ foreign pickles
@pytest.mark.parametrize("name", ["evil.pkl", "coxnet_v2.joblib", "model.pickle"])
def test_foreign_pickle_dropped_into_the_active_bundle(reg, marker, name):
    evil_pickle(reg.root / "b" / name, marker)
    assert_falls_back_to_a(reg, f"unlisted files \\['{name}'\\] were added")


def test_foreign_pickle_in_place_of_a_listed_file(reg, marker):
    evil_pickle(reg.root / "b" / "coxnet.joblib", marker)
    assert_falls_back_to_a(reg, "coxnet.joblib does not match its recorded SHA-256")


def test_foreign_pickle_with_a_forged_manifest(reg, marker):
    # the forger also rewrites the manifest's file hashes: the registry's record catches it
    evil_pickle(reg.root / "b" / "imputation_draws.joblib", marker)
    reseal(reg.root / "b")
    assert_falls_back_to_a(reg, "manifest is missing or differs from the one recorded")


def test_foreign_bundle_folder_dropped_into_the_registry_is_never_loaded(reg, marker):
    # a complete, self-consistent bundle copied in by hand is not registered: never served
    foreign = add_copy(reg, reg.root / "a", "foreign", register=False)
    evil_pickle(foreign / "coxnet.joblib", marker)
    reseal(foreign)
    evil_pickle(reg.root / "evil.pkl", marker)  # and a stray pickle at the top
    assert "foreign" not in reg.ids()
    assert {r["version_id"] for r in reg.rows()} == {"a", "b"}
    with pytest.raises(RegistryError, match="no bundle 'foreign'"):
        reg.load("foreign")
    with pytest.raises(RegistryError, match="no bundle 'foreign'"):
        reg.promote("foreign")
    assert reg.load_last_good().version_id == "b"


def test_foreign_bundle_made_active_by_editing_registry_json(reg, marker):
    foreign = add_copy(reg, reg.root / "a", "foreign", register=False)
    evil_pickle(foreign / "coxnet.joblib", marker)
    reseal(foreign)
    doc = json.loads((reg.root / "registry.json").read_text())
    doc["active"] = "foreign"
    (reg.root / "registry.json").write_text(json.dumps(doc))
    with pytest.raises(RegistryError, match="the active bundle 'foreign' is not registered"):
        reg.load_last_good()


# --------------------------------------------------------------- library versions
def test_bundle_from_other_library_versions(reg, marker):
    # a bundle trained elsewhere, registered as is: refused on the versions before its
    # (here malicious) pickles are touched
    other = add_copy(reg, reg.root / "a", "other", register=False)
    evil_pickle(other / "coxnet.joblib", marker)
    libs = {**library_versions(), "scikit-learn": "1.0.2", "numpy": "1.26.4"}
    reseal(other, libraries=libs)
    reg.register(other)
    with pytest.raises(BundleError, match="other library versions"):
        reg.promote("other")  # promotion checks the versions too
    # it was promoted under those versions; the environment changed since
    doc = json.loads((reg.root / "registry.json").read_text())
    doc["history"].append(doc["active"])
    doc["active"] = "other"
    (reg.root / "registry.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match=r"other library versions: scikit-learn 1\.0\.2"):
        reg.load()
    result = reg.load_last_good()
    assert result.version_id == "b" and result.skipped[0][0] == "other"
    assert "numpy 1.26.4 (installed" in result.skipped[0][1]


# ------------------------------------------------------------ swapped and damaged files
def test_file_swapped_between_two_bundles(reg, marker):
    a, b = reg.root / "a", reg.root / "b"
    assert (a / "coxnet.joblib").read_bytes() != (b / "coxnet.joblib").read_bytes()
    shutil.copyfile(a / "coxnet.joblib", b / "coxnet.joblib")
    assert_falls_back_to_a(reg, "coxnet.joblib does not match its recorded SHA-256")


def test_files_swapped_within_a_bundle(reg, marker):
    b = reg.root / "b"
    ens, draws = (b / "coxnet_ensemble.joblib").read_bytes(), (b / "imputation_draws.joblib")
    (b / "coxnet_ensemble.joblib").write_bytes(draws.read_bytes())
    draws.write_bytes(ens)
    assert_falls_back_to_a(reg, "does not match its recorded SHA-256")


FILES = [
    "manifest.json",
    "coxnet.joblib",
    "rsf.joblib",
    "coxnet_ensemble.joblib",
    "imputation_draws.joblib",
    "operative_outcomes.joblib",
    "report.json",
    "report.html",
]


@pytest.mark.parametrize(
    ("name", "where"),
    [(name, 0.5) for name in FILES] + [(n, w) for n in FILES[:2] for w in (0, -1)],
)
def test_flipped_byte_in_any_file(reg, marker, name, where):
    path = reg.root / "b" / name
    data = bytearray(path.read_bytes())
    data[int(where * len(data)) if where >= 0 else -1] ^= 0x01
    path.write_bytes(bytes(data))
    assert_falls_back_to_a(
        reg, "does not match its recorded SHA-256|manifest is missing or differs"
    )


@pytest.mark.parametrize("damage", ["truncated", "deleted", "emptied", "folder"])
def test_truncated_deleted_or_replaced_file(reg, marker, damage):
    path = reg.root / "b" / "rsf.joblib"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "deleted":
        path.unlink()
    elif damage == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()
        path.mkdir()
    assert_falls_back_to_a(reg, "rsf.joblib")


def test_unpickled_bytes_are_the_verified_bytes(reg, marker, monkeypatch):
    # the file is swapped after it was checked and before it is read again: each pickle is
    # read once, hashed and unpickled from the same bytes, so the swap is never unpickled
    import model.bundle as bundle_mod

    real = bundle_mod.verify_bundle

    def verify_then_swap(*args, **kwargs):
        doc = real(*args, **kwargs)
        evil_pickle(reg.root / "b" / "coxnet.joblib", marker)
        return doc

    monkeypatch.setattr(bundle_mod, "verify_bundle", verify_then_swap)
    with pytest.raises(BundleError, match="coxnet.joblib does not match"):
        reg.load()


# ------------------------------------------------------------------ load_last_good
def test_load_last_good_serves_the_active_bundle_when_it_is_fine(reg):
    result = reg.load_last_good()
    assert result.version_id == "b" and not result.fell_back and result.skipped == []


def test_load_last_good_walks_the_history_newest_first(reg, small_bundle):
    add_copy(reg, small_bundle, "c")
    reg.promote("a")  # history: a, b ; active a
    reg.promote("c")  # history: a, b, a ; active c
    for vid in ("c", "a"):
        (reg.root / vid / "report.json").write_text("{}")
    result = reg.load_last_good()
    assert result.version_id == "b"
    assert [vid for vid, _ in result.skipped] == ["c", "a"]  # each tried once


def test_load_last_good_lists_every_reason_when_nothing_can_be_served(reg):
    for vid in ("a", "b"):
        (reg.root / vid / "report.json").write_text("{}")
    with pytest.raises(RegistryError, match=r"can be served:\n  - b: .*report.json.*\n  - a: "):
        reg.load_last_good()


def test_load_last_good_without_an_active_bundle(tmp_path):
    with pytest.raises(RegistryError, match="no active bundle"):
        Registry(tmp_path).load_last_good()


@pytest.mark.parametrize(
    "content",
    ['{"bundles": {}, "active": null', "[]", '{"bundles": [], "active": null, "history": []}'],
)
def test_damaged_registry_json_is_a_clear_error(reg, content):
    (reg.root / "registry.json").write_text(content)
    with pytest.raises(RegistryError, match="registry.json is damaged"):
        reg.load_last_good()
