"""The drift tests need Dintero's spec file: without ``DINTERO_SPEC_PATH`` they are
deselected (reported in the header), never skipped, since a skip fails our legs."""

from __future__ import annotations

from pathlib import Path

import pytest

from .checkout import spec_path

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_spec: compares our contract with Dintero's spec file (DINTERO_SPEC_PATH)"
    )


def pytest_report_header(config: pytest.Config) -> str:
    path = spec_path()
    if path is None:
        return "dintero spec drift tests: deselected (set DINTERO_SPEC_PATH to run them)"
    return f"dintero spec drift tests: against {path}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if spec_path() is not None:
        return
    deselected = [
        item for item in items if "needs_spec" in item.keywords and HERE in Path(str(item.path)).parents
    ]
    if deselected:
        items[:] = [item for item in items if item not in deselected]
        config.hook.pytest_deselected(items=deselected)
