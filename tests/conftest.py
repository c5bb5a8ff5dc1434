import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model.schema import default_schema  # noqa: E402

SYNTHETIC = ROOT / "data" / "synthetic"


# One valid registry row as text, as a CSV holds it (the default schema's columns).
GOOD_ROW = {
    "patient_id": "A1",
    "age": "61",
    "sex": "F",
    "kps": "90",
    "pathology": "epithelioid",
    "ki67": "8",
    "vascular_emboli": "0",
    "lymph_nodes": "0",
    "pci": "18",
    "cc": "1",
    "sae": "0",
    "ca125": "35.2",
    "cea": "1.8",
    "ca199": "12",
    "rbc_units": "2",
    "os_months": "40.5",
    "death": "0",
}


def write_centre_schema(folder: Path, keep: tuple[str, ...] | None = None) -> Path:
    """A researcher's own schema: the DMPM features (or only ``keep``) plus serum albumin."""
    import yaml

    from model.schema import default_schema_path

    doc = yaml.safe_load(default_schema_path().read_text())
    doc["name"] = "centre_x"
    doc.pop("translations")  # the DMPM schema's Chinese texts are not this centre's
    if keep is not None:
        doc["features"] = [f for f in doc["features"] if f["name"] in keep]
        doc["interactions"] = [p for p in doc["interactions"] if set(p) <= set(keep)]
        doc["operative_outcomes"] = [o for o in doc["operative_outcomes"] if o["feature"] in keep]
    doc["features"].append(
        {
            "name": "albumin",
            "label": "Serum albumin",
            "unit": "g/L",
            "kind": "continuous",
            "min": 10,
            "max": 60,
            "stage": "pre",
            "help": "Pre-operative serum albumin.",
        }
    )
    path = folder / "centre_x.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="session")
def schema():
    return default_schema()


@pytest.fixture(scope="session")
def cohort_110_path():
    return SYNTHETIC / "dmpm_110.csv"


@pytest.fixture(scope="session")
def cohort_2000_path():
    return SYNTHETIC / "dmpm_2000.csv"


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """A 400-patient simulated cohort with its truth, written once per test session."""
    from training.simulate import simulate_cohort, write_cohort

    d = tmp_path_factory.mktemp("small")
    cohort = simulate_cohort(400, seed=31)
    write_cohort(cohort, d / "cohort.csv", d / "truth.csv")
    return d / "cohort.csv", d / "truth.csv", cohort


SMALL_BUNDLE_DESIGNS = ("splines+interactions",)


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory, small_cohort, schema):
    """One bundle fitted on the small cohort (both models, 4 bootstrap resamples), its Cox
    design pinned to the declared splines and interaction, so that every kind of term the
    page explains is there (tuning alone serves the splines on this cohort)."""
    from training.fit import FitOptions, fit_bundle

    registry = tmp_path_factory.mktemp("registry")
    options = FitOptions(bootstrap=4, progress=False, n_jobs=1, cox_designs=SMALL_BUNDLE_DESIGNS)
    path = fit_bundle(small_cohort[0], schema, registry, options)
    return path


def promoted_copy(bundle: Path, root: Path) -> Path:
    """A registry at ``root`` holding a copy of ``bundle``, registered and promoted."""
    import shutil

    from model.registry import Registry

    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(bundle, root / bundle.name)
    reg = Registry(root)
    reg.register(root / bundle.name)
    reg.promote(bundle.name)
    return root
