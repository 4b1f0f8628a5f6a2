"""The service package loads its use cases on first use; each name must stay the use case."""

from __future__ import annotations

import importlib
import types

from accord import service


def test_every_use_case_resolves_to_itself_after_its_module_is_imported() -> None:
    """`service.ingest` once answered the module accord.service.ingest, not the function, after some
    other import had loaded that module: Python sets a package's attribute to each submodule it
    imports, so no use case may share its module's name."""
    for module in set(service._WHERE.values()):
        importlib.import_module(module)
    assert set(service.__all__) == set(service._WHERE)
    for name in service.__all__:
        assert not isinstance(getattr(service, name), types.ModuleType), name
