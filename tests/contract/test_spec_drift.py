"""Our contract (checkout-api.yaml) says what Dintero's own spec says, and nothing else.

Runs where Dintero's spec file is at hand: ``DINTERO_SPEC_PATH`` names it (.ci/run sets
it from the copy beside the checkout, and fails when there is none). Without it these
tests are deselected, not skipped (tests/contract/conftest.py): the contract itself
is in the repository and the conformance tests use it on every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .checkout import (
    JSON,
    SPEC_ROOTS,
    load_contract,
    load_spec,
    prepared,
    project,
    project_contract,
    spec_path,
)


@pytest.fixture(scope="module")
def spec() -> JSON:
    path = spec_path()
    assert path is not None and path.is_file(), f"DINTERO_SPEC_PATH names no file: {path}"
    return prepared(load_spec(path))


@pytest.mark.needs_spec
def test_contract_agrees_with_the_spec(spec: JSON) -> None:
    contract = load_contract()["documents"]
    expected = project_contract(spec, {"documents": contract})
    for name, document in contract.items():
        assert document == expected[name], (
            f"contract document {name!r} differs from Dintero's spec; the spec says:\n"
            + yaml.safe_dump(expected[name], sort_keys=False)
        )


@pytest.mark.needs_spec
def test_the_drift_check_can_fail(spec: JSON) -> None:
    """An invented property, type, enum value or a dropped requirement is drift."""
    contract = load_contract()["documents"]
    transaction, token = contract["transaction"], contract["access_token"]
    status = transaction["properties"]["status"]
    drifted = [
        ("transaction", with_property(transaction, "transaction_status", {"type": "string"})),
        ("transaction", with_property(transaction, "status", {**status, "enum": ["VOIDED"]})),
        ("access_token", with_property(token, "expires_in", {"type": "string"})),
        ("access_token", {**token, "required": ["access_token", "token_type"]}),
    ]
    for name, document in drifted:
        assert project(spec, SPEC_ROOTS[name], document) != document, document
    for name, document in contract.items():
        assert project(spec, SPEC_ROOTS[name], document) == document


def with_property(document: JSON, name: str, schema: JSON) -> JSON:
    return {**document, "properties": {**document["properties"], name: schema}}


def test_the_spec_path_must_name_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DINTERO_SPEC_PATH", str(tmp_path / "absent.yaml"))
    with pytest.raises(AssertionError, match="names no file"):
        spec.__wrapped__()  # type: ignore[attr-defined]
