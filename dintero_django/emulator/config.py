"""The emulator's behaviour switches.

Most knobs exist because Dintero's documentation leaves the fact uncertain (marked [U]
in ``shared/dintero-api.md`` and ``shared/dintero-orders-api.md``): rather than guess
silently, the emulator picks the strictest plausible default and lets a test switch.
The rest tune test speed (callback retry schedule) or the signature secret.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

#: Order payment_status names per derived state (Dintero's enum is [U]; only
#: ``pending`` is documented). One table so a correction is a one-line change.
DEFAULT_PAYMENT_STATUS_NAMES: dict[str, str] = {
    "pending": "pending",
    "partially_authorized": "partially_authorized",
    "authorized": "authorized",
    "partially_captured": "partially_captured",
    "captured": "captured",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "cancelled": "cancelled",
}


class ConfigError(ValueError):
    """An unknown knob or a value of the wrong type / outside its choices."""


def _knob(default: Any, doc: str, choices: tuple[Any, ...] = ()) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc, "choices": choices})


@dataclasses.dataclass
class EmulatorConfig:
    """All knobs, with their defaults. Change them with ``POST /_emulator/config``."""

    # --- authentication -------------------------------------------------------------
    token_expires_in: int = _knob(14400, "Lifetime (s) of issued access tokens.")
    token_bad_credentials_status: int = _knob(
        401, "[U] Status for wrong client credentials on the token endpoint.", (401, 403)
    )
    token_audience_base: str = _knob(
        "https://api.dintero.com/v1/accounts/",
        "Expected audience prefix; the account id is appended.",
    )
    # --- checkout -------------------------------------------------------------------
    session_amount_check: str = _knob(
        "always",
        "[U] Check order.amount == sum(items) + shipping 'always', or only with the "
        "'Dintero-Feature-Toggles: strict-session-amounts' header ('toggle').",
        ("always", "toggle"),
    )
    session_ttl: int = _knob(86400, "[U] Default session lifetime (s) when no expires_at.")
    illegal_transition_status: int = _knob(
        400, "[U] Status for an operation the transaction state forbids.", (400, 409)
    )
    void_after_partial_capture: bool = _knob(
        False, "Allow void of the uncaptured remainder after a partial capture."
    )
    void_after_partial_capture_status: str = _knob(
        "CAPTURED",
        "[U] Transaction status after voiding the remainder of a partial capture.",
        ("CAPTURED", "AUTHORIZATION_VOIDED", "PARTIALLY_CAPTURED"),
    )
    return_url_failed_transaction_id: bool = _knob(
        True, "[U] Add transaction_id to return_url for declined/failed payments too."
    )
    payment_product_type: str = _knob("dintero_psp.creditcard", "payment_product_type of paid transactions.")
    on_hold_payment_product_type: str = _knob(
        "collector.invoice", "payment_product_type of ON_HOLD transactions (Walley only)."
    )
    # --- strictness -----------------------------------------------------------------
    lenient: bool = _knob(
        False,
        "[U] Serve behaviours Dintero does not document and that are more permissive than its "
        "docs (e.g. the whole-draft PUT /draft_orders/{id}). Nothing in our own flow needs it.",
    )
    # --- orders ---------------------------------------------------------------------
    orders_strict: bool = _knob(
        True,
        "[U] Strict amount rules on order operations (items required for captures/refunds, "
        "known line ids, captured <= authorized, refunded <= captured); false = ledger mode.",
    )
    orders_create_status: int = _knob(
        200, "[U] Status of successful POST creates in the Orders API.", (200, 201)
    )
    orders_completed_draft_status: int = _knob(400, "[U] Status when changing a completed draft.", (400, 409))
    orders_recomplete: str = _knob(
        "error",
        "[U] Second completion of a draft: 'error' (400) or 'return_existing' orders.",
        ("error", "return_existing"),
    )
    orders_payment_status_names: dict[str, str] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_PAYMENT_STATUS_NAMES),
        metadata={"doc": "[U] Order payment_status value per derived state.", "choices": ()},
    )
    # --- callbacks ------------------------------------------------------------------
    callback_max_retries: int = _knob(20, "Retries after a failed delivery (Dintero: 20).")
    callback_retry_initial: float = _knob(0.05, "[U] First retry delay (s).")
    callback_retry_factor: float = _knob(2.0, "[U] Retry delay multiplier.")
    callback_retry_max: float = _knob(1.0, "[U] Longest retry delay (s).")
    callback_timeout: float = _knob(10.0, "HTTP timeout (s) of one delivery attempt.")
    callback_delay_cap: float = _knob(60.0, "Maximum honoured delay_callback (s).")
    callback_duplicate_delivery_id: str = _knob(
        "distinct",
        "event-delivery id of copies made by the 'duplicate' fault: 'distinct' or 'same'.",
        ("distinct", "same"),
    )
    signature_secret: str = _knob("", "Secret for Dintero-Signature; empty = unsigned.")
    signature_clock: str = _knob(
        "real",
        "Clock for the signature timestamp: 'real' wall time (so receivers verify with "
        "their own clock after clock/advance) or the emulator's 'virtual' clock.",
        ("real", "virtual"),
    )
    # --- logs -----------------------------------------------------------------------
    request_log_limit: int = _knob(10000, "Entries kept in the request log.")
    callback_log_limit: int = _knob(10000, "Entries kept in the callback delivery log.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> EmulatorConfig:
        return copy.deepcopy(self)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Validate every change first, then apply them all (all or nothing)."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Knob name -> default, choices and documentation (for the docs and /config)."""
        defaults = cls()
        return {
            f.name: {
                "default": getattr(defaults, f.name),
                "choices": list(f.metadata["choices"]),
                "doc": f.metadata["doc"],
            }
            for f in dataclasses.fields(cls)
        }


_FIELDS = {f.name: f for f in dataclasses.fields(EmulatorConfig)}


def _checked(name: str, value: Any) -> Any:
    field = _FIELDS.get(name)
    if field is None:
        raise ConfigError(f"unknown config knob {name!r}")
    default = getattr(EmulatorConfig(), name)
    checked = _coerce(name, default, value)
    choices = field.metadata["choices"]
    if choices and checked not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, not {value!r}")
    if isinstance(checked, int | float) and not isinstance(checked, bool) and checked < 0:
        raise ConfigError(f"{name} must not be negative")
    return checked


def _coerce(name: str, default: Any, value: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be a boolean")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string")
        return value
    return _coerce_names(name, default, value)


def _coerce_names(name: str, default: dict[str, str], value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{name} must be an object of strings")
    unknown = set(value) - set(default)
    if unknown:
        raise ConfigError(f"{name} has unknown keys {sorted(unknown)}")
    return {**default, **value}
