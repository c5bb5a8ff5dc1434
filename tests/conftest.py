import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model.schema import default_schema  # noqa: E402

SYNTHETIC = ROOT / "data" / "synthetic"


@pytest.fixture(scope="session")
def schema():
    return default_schema()


@pytest.fixture(scope="session")
def cohort_110_path():
    return SYNTHETIC / "dmpm_110.csv"


@pytest.fixture(scope="session")
def cohort_2000_path():
    return SYNTHETIC / "dmpm_2000.csv"
