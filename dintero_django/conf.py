"""The app's one settings surface: the ``DINTERO`` dict, read lazily.

Nothing here reads ``django.conf.settings`` at import time; every access goes
through :func:`get_settings`, so ``override_settings`` and pytest-django's
``settings`` fixture work, and a missing setting never breaks ``import``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings as django_settings

DEFAULT_API_URL = "https://api.dintero.com"
DEFAULT_CHECKOUT_URL = "https://checkout.dintero.com"


@dataclass(frozen=True)
class DinteroSettings:
    """Typed view of ``settings.DINTERO``; see docs/settings.md for each key."""

    ACCOUNT_ID: str = ""
    CLIENT_ID: str = ""
    CLIENT_SECRET: str = field(default="", repr=False)
    API_URL: str = DEFAULT_API_URL
    CHECKOUT_URL: str = DEFAULT_CHECKOUT_URL
    PROFILE_ID: str = "default"
    #: One secret, or a list (current first) while rotating.
    SIGNATURE_SECRET: str | list[str] | tuple[str, ...] = field(default="", repr=False)
    SIGNATURE_TOLERANCE: int = 300
    #: Public hostname Dintero addresses callbacks to (behind a proxy the Host
    #: header may differ); empty means the request's host.
    CALLBACK_HOSTNAME: str = ""
    #: Absolute base of this site, used to build callback/return URLs when no
    #: request is at hand (tasks). Example: "https://shop.example.com".
    SITE_URL: str = ""
    CALLBACK_URL: str = ""
    RETURN_URL: str = ""
    #: Where the return view sends the customer; ``{order}`` is the public id.
    RESULT_URL: str = ""
    #: Extra query options Dintero honours on the callback URL.
    CALLBACK_DELAY: int | None = None
    CALLBACK_METHOD: str = "GET"
    CONNECT_TIMEOUT: float = 5.0
    READ_TIMEOUT: float = 20.0
    #: Automatic retries, only for safe calls (token, GET).
    MAX_RETRIES: int = 3
    RETRY_BACKOFF: float = 0.5
    RETRY_BACKOFF_MAX: float = 30.0
    #: Renew the access token this many seconds before it expires.
    TOKEN_RENEW_MARGIN: int = 300
    #: Django cache alias shared by processes for the access token.
    TOKEN_CACHE: str = "default"  # noqa: S105 - a cache alias, not a secret
    SYSTEM_NAME: str = "dintero-django"
    SYSTEM_VERSION: str = ""
    #: Seconds between polls of a transaction still INITIATED / ON_HOLD.
    POLL_INTERVAL: float = 30.0
    #: Give up polling a pending payment after this many polls (the
    #: reconciler keeps looking after that).
    POLL_MAX: int = 20
    #: Payments / operations untouched for this long are picked up by the reconciler.
    RECONCILE_AFTER: float = 60.0
    #: Lifetime (s) of a checkout session, sent as its ``expires_at``. Dintero's default
    #: lifetime is not documented; an unpaid session past it cannot be paid.
    SESSION_LIFETIME: float = 86400.0
    #: An unpaid session is read for this long after it expired (a payment begun just
    #: before may still complete), then its payment becomes ``expired`` and is not read again.
    SESSION_EXPIRY_GRACE: float = 900.0
    #: How long a worker may hold an order (pushing it, recording an operation in the
    #: Orders API) before another may take over: a crashed holder's lease expires then.
    #: Keep it above the longest remote work one holder does (check dintero.W007).
    LEASE_SECONDS: float = 120.0
    #: A reconciler pass takes no new item after this many seconds (keep it
    #: below the schedule's period); the rest waits for the next pass.
    RECONCILE_TIME_LIMIT: float = 240.0
    #: Authorized payments with money still open are read again when their last
    #: sync is this many seconds old (a Backoffice capture, refund or void whose
    #: callback was lost); 0 turns it off. One transaction read per payment per period.
    RECONCILE_REVISIT: float = 6 * 3600.0
    #: ... for this many days after the payment was created.
    RECONCILE_REVISIT_DAYS: int = 30
    #: An operation whose outcome is unknown, and whose event is still absent
    #: this many seconds later, is taken as never applied (so it may be retried).
    UNKNOWN_GRACE: float = 120.0
    #: Orders-API records are retried until they exist; after this many failed
    #: attempts they are flagged for staff (the reconciler keeps them visible).
    RECORD_MAX_ATTEMPTS: int = 10
    #: A task that crashed this many times is flagged for staff instead of rerun.
    TASK_MAX_ATTEMPTS: int = 3
    #: The shop's currency (ISO 4217): storefront orders are in it, whatever the client asks.
    CURRENCY: str = "NOK"
    #: Several currencies the storefront may take (the first is the default); empty: CURRENCY only.
    CURRENCIES: list[str] | tuple[str, ...] = ()
    #: Dintero's Backoffice, for the admin's deep link to a transaction
    #: (``{BACKOFFICE_URL}/{account}/payments/transactions/{transaction_id}``, as Dintero's plugins link it).
    BACKOFFICE_URL: str = "https://backoffice.dintero.com"
    #: The admin overview warns about authorizations older than this many days (they expire:
    #: card authorizations typically after 7 days, depending on the payment method).
    AUTHORIZATION_WARN_DAYS: float = 5.0
    #: Dotted path of the order adapter class.
    ADAPTER: str = "dintero_django.adapters.DefaultOrderAdapter"

    @property
    def signature_secrets(self) -> list[str]:
        secret = self.SIGNATURE_SECRET
        values = [secret] if isinstance(secret, str) else list(secret)
        return [value for value in values if value]

    @property
    def audience(self) -> str:
        # The audience always names the api host, whichever host issues tokens.
        return f"{DEFAULT_API_URL}/v1/accounts/{self.ACCOUNT_ID}"


_KNOWN = {f.name for f in fields(DinteroSettings)}


def raw_settings() -> Mapping[str, Any]:
    value = getattr(django_settings, "DINTERO", None) or {}
    return value if isinstance(value, Mapping) else {}


def unknown_keys() -> list[str]:
    return sorted(set(raw_settings()) - _KNOWN)


def get_settings() -> DinteroSettings:
    """The current ``DINTERO`` settings (cheap; safe to call per request)."""
    raw = raw_settings()
    return DinteroSettings(**{key: value for key, value in raw.items() if key in _KNOWN})
