"""System checks for the ``DINTERO`` settings. Ids are stable: never reuse one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import get_settings, raw_settings, unknown_keys

ACCOUNT_ID_RE = re.compile(r"^[PT]\d{8}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


@register(Tags.security)
def check_dintero_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not isinstance(getattr(settings, "DINTERO", {}), dict):
        return [Error("settings.DINTERO must be a dict.", id="dintero.E006")]
    conf = get_settings()
    messages: list[CheckMessage] = []
    if not conf.ACCOUNT_ID:
        messages.append(Error("DINTERO['ACCOUNT_ID'] is not set.", id="dintero.E001"))
    elif not ACCOUNT_ID_RE.match(conf.ACCOUNT_ID):
        messages.append(
            Error(
                f"DINTERO['ACCOUNT_ID'] {conf.ACCOUNT_ID!r} is malformed.",
                hint="One letter, T (test) or P (production), then 8 digits: T12345678.",
                id="dintero.E002",
            )
        )
    if not conf.CLIENT_ID or not conf.CLIENT_SECRET:
        messages.append(
            Error(
                "DINTERO['CLIENT_ID'] and DINTERO['CLIENT_SECRET'] must both be set.",
                hint="Create an API client with admin:checkout and admin:shopping scopes; to try "
                "the app without Dintero, run `python3 example_project/demo.py` (the example shop "
                "against the built-in emulator).",
                id="dintero.E003",
            )
        )
    for key in ("API_URL", "CHECKOUT_URL"):
        if urlsplit(getattr(conf, key)).scheme not in ("http", "https"):
            messages.append(Error(f"DINTERO['{key}'] must be an http(s) URL.", id="dintero.E004"))
    if conf.READ_TIMEOUT <= 0 or conf.CONNECT_TIMEOUT <= 0:
        messages.append(Error("DINTERO timeouts must be positive.", id="dintero.E005"))
    messages.extend(_adapter_errors(conf.ADAPTER))
    messages.extend(_callback_scheme(conf))
    messages.extend(_currency_errors(conf))
    messages.extend(_warnings(conf))
    return messages


def _callback_scheme(conf: Any) -> list[CheckMessage]:
    """Dintero delivers callbacks only to HTTPS URLs (spec ``CallbackUrl``).

    Without callbacks a payment is confirmed only when the customer returns or the
    reconciler polls: a production shop must not run that way, a test shop may.
    """
    setting = "CALLBACK_URL" if conf.CALLBACK_URL else "SITE_URL"
    base = getattr(conf, setting)
    if not base or urlsplit(base).scheme == "https":
        return []
    if not conf.ACCOUNT_ID.startswith("P") and _on_this_machine(base) and _on_this_machine(conf.API_URL):
        # Local development against the emulator: its own switch (--callback-allow-http,
        # docs/emulator.md) decides whether a loopback shop gets callbacks.
        return []
    text = (
        f"DINTERO['{setting}'] ({base!r}) is not https: Dintero delivers callbacks only to "
        "HTTPS URLs, so this site gets no callbacks and confirms payments only by polling."
    )
    hint = "Serve the callback URL over HTTPS (set SITE_URL or CALLBACK_URL to an https:// URL)."
    if conf.ACCOUNT_ID.startswith("P"):
        return [Error(text, hint=hint, id="dintero.E008")]
    return [Warning(text, hint=hint, id="dintero.W008")]


def _on_this_machine(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _trusts_client_prices(adapter_path: str) -> bool:
    from .adapters import DefaultOrderAdapter, adapter_class

    try:
        cls = adapter_class(adapter_path)
    except Exception:  # reported as E007
        return False
    return cls.prepare_lines is DefaultOrderAdapter.prepare_lines


def _adapter_errors(adapter_path: str) -> list[CheckMessage]:
    from .adapters import adapter_class

    try:
        adapter_class(adapter_path)
    except Exception as error:
        return [Error(f"DINTERO['ADAPTER'] cannot be used: {error}", id="dintero.E007")]
    return []


def _currency_errors(conf: Any) -> list[CheckMessage]:
    currencies = conf.CURRENCIES
    listed = isinstance(currencies, list | tuple) and all(isinstance(c, str) for c in currencies)
    codes = [conf.CURRENCY, *(currencies if listed else [])]
    if listed and all(isinstance(code, str) and CURRENCY_RE.match(code) for code in codes):
        return []
    return [
        Error(
            "DINTERO['CURRENCY'] must be an ISO 4217 code in capitals, and DINTERO['CURRENCIES'] "
            "a list of such codes.",
            hint="For example CURRENCY = 'NOK', or CURRENCIES = ['NOK', 'SEK'] (the first is the default).",
            id="dintero.E009",
        )
    ]


def _throttle_warnings() -> list[CheckMessage]:
    """DRF without NUM_PROXIES throttles by the whole X-Forwarded-For header, which any
    client sets: each new value is a new client, and the storefront throttle is void."""
    if not apps.is_installed("rest_framework"):
        return []
    configured = getattr(settings, "REST_FRAMEWORK", {}) or {}
    if configured.get("NUM_PROXIES") is not None:
        return []
    return [
        Warning(
            "REST_FRAMEWORK['NUM_PROXIES'] is not set: the storefront API's throttle identifies "
            "clients by the X-Forwarded-For header, which any client can change per request.",
            hint="Set it to the number of proxies in front of Django (0 when there are none); "
            "see docs/rest-api.md.",
            id="dintero.W011",
        )
    ]


def _warnings(conf: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if not conf.signature_secrets and not settings.DEBUG:
        messages.append(
            Warning(
                "No DINTERO['SIGNATURE_SECRET'] while DEBUG is off: callbacks are not verified.",
                hint="Create a signature secret in Dintero (POST /v1/admin/signature) and set it.",
                id="dintero.W001",
            )
        )
    for key in unknown_keys():
        messages.append(Warning(f"Unknown DINTERO setting {key!r}.", id="dintero.W002"))
    if conf.ACCOUNT_ID.startswith("P") and any(
        urlsplit(getattr(conf, key)).scheme == "http" for key in ("API_URL", "CHECKOUT_URL")
    ):
        messages.append(
            Warning(
                "A production account (P…) is configured with a plain-http Dintero URL.",
                id="dintero.W003",
            )
        )
    if not (conf.SITE_URL or conf.CALLBACK_URL) and not settings.DEBUG:
        messages.append(
            Warning(
                "Neither DINTERO['SITE_URL'] nor DINTERO['CALLBACK_URL'] is set: tasks cannot "
                "build the callback URL and fall back to the sites framework or fail.",
                id="dintero.W004",
            )
        )
    if not settings.DEBUG and _trusts_client_prices(conf.ADAPTER):
        messages.append(
            Warning(
                "The storefront API takes line prices from the client: the order adapter does not "
                "override prepare_lines().",
                hint="Subclass DefaultOrderAdapter, price lines from your catalogue in prepare_lines(), "
                "and name it in DINTERO['ADAPTER'] (docs/adapters.md).",
                id="dintero.W006",
            )
        )
    longest_call = (conf.CONNECT_TIMEOUT + conf.READ_TIMEOUT) * (conf.MAX_RETRIES + 1)
    if longest_call >= conf.LEASE_SECONDS:
        messages.append(
            Warning(
                f"DINTERO['LEASE_SECONDS'] ({conf.LEASE_SECONDS:g} s) is not longer than one remote call "
                f"with its retries ({longest_call:g} s): a slow holder's lease could expire while it "
                "still works, and a second worker take the order over.",
                id="dintero.W007",
            )
        )
    if raw_settings().get("CALLBACK_METHOD", "GET") not in ("GET", "POST"):
        messages.append(Warning("DINTERO['CALLBACK_METHOD'] must be GET or POST.", id="dintero.W005"))
    messages.extend(_throttle_warnings())
    return messages


# -- where tasks run (W009, W010) ---------------------------------------------------

#: SQLite options that make a writer wait for the lock instead of failing at once.
SQLITE_MIN_TIMEOUT = 20
SQLITE_OPTIONS_HINT = 'DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}'


@register()
def check_task_setup(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Tasks must be able to run somewhere, and SQLite must let a worker and the web
    process write in turn."""
    from celery import current_app  # the app shared tasks are sent with

    conf = current_app.conf
    if conf.task_always_eager:
        return []  # in-process: one process writes, nothing is queued
    messages: list[CheckMessage] = []
    if not (conf.broker_url or conf.broker_write_url):
        messages.append(
            Warning(
                "Celery tasks can neither be queued nor run eagerly: no broker is configured "
                "(Celery would try amqp://localhost) and CELERY_TASK_ALWAYS_EAGER is off. "
                "Orders would never reach Dintero and checkout would wait forever.",
                hint="Set CELERY_BROKER_URL (and run a worker), or CELERY_TASK_ALWAYS_EAGER = True "
                "in development; load your Celery app in your project's __init__.py (README, Quickstart).",
                id="dintero.W010",
            )
        )
    messages.extend(_sqlite_warnings())
    return messages


def _sqlite_warnings() -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        if not str(database.get("ENGINE", "")).endswith("sqlite3"):
            continue
        options = cast(dict[str, Any], database.get("OPTIONS") or {})
        immediate = str(options.get("transaction_mode", "")).upper() == "IMMEDIATE"
        if immediate and float(options.get("timeout") or 0) >= SQLITE_MIN_TIMEOUT:
            continue
        messages.append(
            Warning(
                f"Database {alias!r} is SQLite without a write-lock wait while tasks run on a worker: "
                "the worker and the web process can fail each other with 'database is locked'.",
                hint=f"Set {SQLITE_OPTIONS_HINT.replace('default', alias)} "
                f"(timeout at least {SQLITE_MIN_TIMEOUT} s), or use PostgreSQL.",
                id="dintero.W009",
            )
        )
    return messages
