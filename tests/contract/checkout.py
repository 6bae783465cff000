"""Our contract of Dintero's Checkout API, and how it is checked against Dintero's spec.

``checkout-api.yaml`` (next to this module) holds the facts of Dintero's Checkout API
that the emulator serves and dintero_django reads: for each document (access token,
session, transaction, error, ...) the properties we use, with their types, formats,
enums and required lists. It is JSON Schema draft 4, so the conformance tests
(tests/emulator/test_spec_conformance.py) validate the emulator's answers against it
on every run, with nothing outside the repository.

Where Dintero's full spec is at hand (``DINTERO_SPEC_PATH``), tests/contract/
test_spec_drift.py projects the spec onto the contract's own shape (:func:`project`) and
requires the result to equal the contract: a fact we wrote that the spec does not say,
or a fact the spec changed, fails there, with the spec's version printed.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

JSON = dict[str, Any]
CONTRACT_PATH = Path(__file__).with_name("checkout-api.yaml")

#: JSON Schema keywords that constrain a value; annotations (description, example,
#: readOnly, x-*) are left out of the contract.
VALIDATION_KEYWORDS = (
    "type",
    "format",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)

#: Each contract document and the spec schema it is taken from.
SPEC_ROOTS: dict[str, JSON] = {
    "access_token": {"$ref": "#/definitions/AccessToken"},
    "session_created": {"$ref": "#/responses/SessionCreated/schema"},
    "session": {
        "allOf": [
            {"$ref": "#/definitions/Id"},
            {"$ref": "#/definitions/Session"},
            {"$ref": "#/definitions/SessionRead"},
            {"$ref": "#/definitions/SessionCancelled"},
        ]
    },
    "transaction": {"$ref": "#/definitions/Transaction"},
    "error": {"$ref": "#/definitions/Error"},
}


def load_contract() -> JSON:
    with CONTRACT_PATH.open(encoding="utf-8") as handle:
        loaded: JSON = yaml.safe_load(handle)
    return loaded


def spec_path() -> Path | None:
    """Dintero's full spec, when ``DINTERO_SPEC_PATH`` names it (never guessed)."""
    value = os.environ.get("DINTERO_SPEC_PATH", "")
    return Path(value) if value else None


def load_spec(path: Path) -> JSON:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        loaded: JSON = yaml.load(handle, Loader=loader)  # noqa: S506 (a safe loader)
    return loaded


def resolve(spec: JSON, schema: JSON) -> JSON:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def merged(spec: JSON, schema: JSON) -> JSON:
    """One flat view of a schema: $ref followed, allOf and anyOf members merged.

    A keyword (``type``, ``enum``, ...) comes from the first member that has it, so the
    common part of ``Transaction`` (listed before the per-product parts) decides
    ``status``. A property several members declare (``card``: its ``type`` in the common
    part, ``masked_pan`` in the card products' parts) is the merge of their schemas.
    ``required`` is the union over allOf members only (anyOf members are optional).
    """
    schema = resolve(spec, schema)
    flat: JSON = {key: schema[key] for key in VALIDATION_KEYWORDS if key in schema}
    properties: JSON = {}
    nested: dict[str, list[JSON]] = {"items": [], "additionalProperties": []}
    required = list(schema.get("required", []))

    def absorb(source: JSON) -> None:
        for name, value in source.get("properties", {}).items():
            properties[name] = {"allOf": [properties[name], value]} if name in properties else value
        for key, found in nested.items():
            if isinstance(source.get(key), dict):
                found.append(source[key])

    absorb(schema)
    for combinator in ("allOf", "anyOf"):
        for member in schema.get(combinator, []):
            part = merged(spec, _conditional_part(member))
            for key in VALIDATION_KEYWORDS:
                if key in part and key not in flat:
                    flat[key] = part[key]
            absorb(part)
            if combinator == "allOf":
                required += [name for name in part.get("required", []) if name not in required]
    for key, found in nested.items():
        if found:
            flat[key] = found[0] if len(found) == 1 else {"allOf": found}
    if schema.get("additionalProperties") is False:
        flat["additionalProperties"] = False
    if properties:
        flat["properties"] = properties
    if required:
        flat["required"] = required
    return flat


def _conditional_part(member: JSON) -> JSON:
    """``anyOf: [not A, B]`` (B applies only when A holds) contributes B."""
    parts = member.get("anyOf", [])
    if len(parts) == 2 and "not" in parts[0]:
        return dict(parts[1])
    return member


def project(spec: JSON, schema: JSON, shape: JSON) -> JSON:
    """The spec's facts about ``schema``, for the properties that ``shape`` names."""
    flat = merged(spec, schema)
    out: JSON = {key: flat[key] for key in VALIDATION_KEYWORDS if key in flat}
    names = list(shape.get("properties", {}))
    if names or flat.get("required"):
        spec_properties = flat.get("properties", {})
        missing = [name for name in names if name not in spec_properties]
        out["properties"] = {
            name: project(spec, spec_properties[name], shape["properties"].get(name) or {})
            for name in names
            if name in spec_properties
        }
        out["properties"].update({name: {"not_in_spec": True} for name in missing})
        if flat.get("required"):
            out["required"] = sorted(flat["required"])
    if "items" in shape and "items" in flat:
        out["items"] = project(spec, flat["items"], shape["items"])
    additional = flat.get("additionalProperties")
    if "additionalProperties" in shape and isinstance(additional, dict):
        out["additionalProperties"] = project(spec, additional, shape["additionalProperties"])
    elif additional is False:
        out["additionalProperties"] = False
    return out


def project_contract(spec: JSON, contract: JSON) -> JSON:
    """The whole contract as the spec would write it (its ``documents`` part)."""
    return {name: project(spec, SPEC_ROOTS[name], shape) for name, shape in contract["documents"].items()}


def prepared(loaded: JSON) -> JSON:
    """The 2024 spec file with one correction, checked so a newer file shows up.

    PARTIALLY_CAPTURED_REFUNDED is missing from the two transaction status enums;
    Dintero's newer spec (types generated 2025-09, dintero-api.md §5.2) has it, and this
    file lists it as a filter value of ``GET /transactions?status=``.
    """
    patched = copy.deepcopy(loaded)
    common = next(part for part in patched["definitions"]["Transaction"]["allOf"] if "properties" in part)
    lists = [
        patched["definitions"]["TransactionEvent"]["properties"]["transaction_status"]["enum"],
        common["properties"]["status"]["enum"],
    ]
    for statuses in lists:
        assert "PARTIALLY_REFUNDED" in statuses
        assert "PARTIALLY_CAPTURED_REFUNDED" not in statuses, "spec updated: drop this patch"
        statuses.append("PARTIALLY_CAPTURED_REFUNDED")
    return patched
