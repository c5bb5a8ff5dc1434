import json
import shutil

import pytest

from model.bundle import BundleError
from model.registry import NothingServable, Registry, RegistryError


def _add(registry, src, name):
    dest = registry.root / name
    shutil.copytree(src, dest)
    m = json.loads((dest / "manifest.json").read_text())
    m["version_id"] = name
    (dest / "manifest.json").write_text(json.dumps(m))
    return registry.register(dest)


@pytest.fixture
def registry(tmp_path, small_bundle):
    reg = Registry(tmp_path / "models")
    reg.root.mkdir()
    for name in ("a", "b", "c"):
        _add(reg, small_bundle, name)
    return reg


def test_new_bundles_are_not_active_until_promoted(registry):
    assert registry.active_id is None
    with pytest.raises(RegistryError, match="no active bundle"):
        registry.load()
    registry.promote("a")
    assert registry.active_id == "a"
    assert registry.load().version_id == "a"


def test_promote_and_rollback_walk_the_history(registry):
    for vid in ("a", "b", "c"):
        registry.promote(vid)
    assert registry.rollback() == "b"
    assert registry.rollback() == "a"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    assert registry.active_id == "a"


def test_unknown_id(registry):
    with pytest.raises(RegistryError, match="no bundle 'zzz'"):
        registry.promote("zzz")


def test_edited_manifest_is_caught_by_the_recorded_hash(registry):
    registry.promote("a")
    mpath = registry.root / "b" / "manifest.json"
    m = json.loads(mpath.read_text())
    m["metrics"]["coxnet"]["corrected"]["harrell_c"] = 0.99
    mpath.write_text(json.dumps(m))
    with pytest.raises(BundleError, match="differs from the one recorded"):
        registry.promote("b")
    assert registry.active_id == "a"


def test_tampered_active_bundle_is_refused_and_previous_one_stays_loadable(registry):
    registry.promote("a")
    registry.promote("b")
    (registry.root / "b" / "coxnet.joblib").write_bytes(b"not a pickle")
    with pytest.raises(BundleError, match="does not match its recorded SHA-256"):
        registry.load()
    assert registry.rollback() == "a"
    assert registry.load().version_id == "a"


def test_rows_list_newest_first_with_active_marker(registry):
    registry.promote("b")
    rows = registry.rows()
    assert {r["version_id"] for r in rows} == {"a", "b", "c"}
    assert [r["version_id"] for r in rows if r["active"]] == ["b"]
    assert all(r["rows"] == 400 for r in rows)


def test_load_last_good_starts_from_a_chosen_bundle_then_tries_the_others(registry):
    registry.promote("a")
    registry.promote("b")  # history: a ; active b
    (registry.root / "c" / "report.json").write_text("{}")  # c altered
    result = registry.load_last_good("c")
    assert result.version_id == "b" and [vid for vid, _ in result.skipped] == ["c"]
    # bundles never active are tried only when passed in `then`, after the history
    (registry.root / "b" / "report.json").write_text("{}")
    (registry.root / "a" / "report.json").write_text("{}")
    with pytest.raises(NothingServable) as refused:
        registry.load_last_good("c")
    assert [vid for vid, _ in refused.value.skipped] == ["c", "b", "a"]


def test_load_last_good_with_the_callers_loader(registry):
    registry.promote("a")
    calls = []

    def load(vid):
        calls.append(vid)
        if vid == "b":
            raise BundleError("b refused")
        return registry.load(vid)

    result = registry.load_last_good("b", then=["c", "b"], load=load)
    assert calls == ["b", "a"] and result.version_id == "a"
    assert result.skipped == [("b", "b refused")] and result.fell_back
    registry.promote("c")
    (registry.root / "c" / "report.json").write_text("{}")
    result = registry.load_last_good(None, then=["c", "b", "a"])
    assert result.version_id == "a" and [v for v, _ in result.skipped] == ["c"]
