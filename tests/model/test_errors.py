"""Every error raised on purpose shares one base, so callers catch one type."""

import pytest

from model.bundle import BundleError
from model.errors import HipecError
from model.evidence import EvidenceDefinitionError
from model.manifest import ManifestError
from model.registry import NothingServable, RegistryError
from model.schema import SchemaDefinitionError
from model.validation import DataValidationError


@pytest.mark.parametrize(
    "error, builtin",
    [
        (BundleError, RuntimeError),
        (RegistryError, RuntimeError),
        (NothingServable, RuntimeError),
        (SchemaDefinitionError, ValueError),
        (DataValidationError, ValueError),
        (ManifestError, ValueError),
        (EvidenceDefinitionError, ValueError),
    ],
)
def test_one_base_and_the_builtin_kept(error, builtin):
    assert issubclass(error, HipecError) and issubclass(error, builtin)
