"""The HTTP client against the emulator: tokens, retries, error mapping, secrecy."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from dintero_django.client import CheckoutClient, OrdersClient, reset
from dintero_django.exceptions import (
    DinteroAuthError,
    DinteroClientError,
    DinteroNotFound,
    DinteroRateLimited,
    DinteroServerError,
    DinteroTimeout,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def emu(dintero_settings: Any) -> Any:
    reset()
    return dintero_settings


def count(emu: Any, operation: str) -> int:
    return sum(1 for entry in emu.control.requests_log() if entry.get("operation") == operation)


def test_one_token_shared_by_threads(emu: Any) -> None:
    client = CheckoutClient()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with pytest.raises(DinteroNotFound):
                CheckoutClient().get_transaction("T12345678.doesnotexist")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pytest.raises(DinteroNotFound):
        client.get_transaction("T12345678.doesnotexist")

    assert errors == []
    assert count(emu, "token") == 1


def test_token_shared_across_processes_through_the_cache(emu: Any) -> None:
    from dintero_django.client import token as tokens

    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    tokens.clear()  # a new process: empty memory, same Django cache
    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    assert count(emu, "token") == 1


def test_a_process_waits_for_the_token_another_is_fetching(emu: Any) -> None:
    """Two processes missing the shared cache at once asked for two tokens (issue 19)."""
    import threading

    from django.core.cache import caches

    from dintero_django.client import token as tokens
    from dintero_django.conf import get_settings

    conf = get_settings()
    key = tokens._cache_key(conf)
    caches[conf.TOKEN_CACHE].add(key + ":fetching", 1, timeout=5)  # "another process" fetches
    got: list[tokens.AccessToken] = []
    waiter = threading.Thread(target=lambda: got.append(tokens.get_token(conf, lambda: ("mine", 3600))))
    waiter.start()
    deadline = time.monotonic() + 10
    while not tokens._lock.locked() and waiter.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the waiter is inside get_token (it holds the lock while it waits)
    other = tokens.AccessToken("theirs", time.time() + 3600, time.time())
    tokens._shared_set(conf.TOKEN_CACHE, key, other, time.time())  # ... and publishes its token
    waiter.join(timeout=30)
    assert [t.value for t in got] == ["theirs"]


def test_token_is_renewed_before_it_expires(emu: Any) -> None:
    import time

    import time_machine

    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    # Our clock (not the emulator's) reaches the renewal margin: renew before use.
    with time_machine.travel(time.time() + 14400 - 200, tick=True), pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    assert count(emu, "token") == 2


def test_a_401_renews_the_token_once(emu: Any) -> None:
    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    emu.control.reset()  # the emulator forgets its tokens: ours is now invalid
    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    statuses = [e["status"] for e in emu.control.requests_log() if e.get("operation") == "transaction_get"]
    assert statuses == [401, 404]


def test_wrong_credentials_raise_auth_error(emu: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "CLIENT_SECRET": "wrong"}
    with pytest.raises(DinteroAuthError) as raised:
        OrdersClient().order_exists("nope")
    assert "wrong" not in str(raised.value)


def test_safe_calls_retry_on_5xx_and_429(emu: Any) -> None:
    emu.control.add_fault(operation="transaction_get", action="error_before", status=503, times=1)
    emu.control.add_fault(operation="transaction_get", action="rate_limit", retry_after=0, times=1)
    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    assert count(emu, "transaction_get") == 3


def test_retries_are_bounded(emu: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "MAX_RETRIES": 2}
    emu.control.add_fault(operation="transaction_get", action="error_before", status=500, times=10)
    with pytest.raises(DinteroServerError) as raised:
        CheckoutClient().get_transaction("T12345678.x")
    assert raised.value.status == 500
    assert count(emu, "transaction_get") == 3


def test_rate_limit_carries_retry_after(emu: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "MAX_RETRIES": 0}
    emu.control.add_fault(operation="transaction_get", action="rate_limit", retry_after=7, times=1)
    with pytest.raises(DinteroRateLimited) as raised:
        CheckoutClient().get_transaction("T12345678.x")
    assert raised.value.retry_after == 7


def test_unsafe_calls_are_never_retried(emu: Any) -> None:
    emu.control.add_fault(operation="session_create", action="error_before", status=503, times=1)
    with pytest.raises(DinteroServerError):
        CheckoutClient().create_session({"profile_id": "default"})
    assert count(emu, "session_create") == 1


def test_client_error_carries_dintero_code_and_message(emu: Any) -> None:
    with pytest.raises(DinteroClientError) as raised:
        CheckoutClient().create_session({"profile_id": "default", "url": {}, "order": {}})
    error = raised.value
    assert error.status == 400
    assert error.message and error.method == "POST" and error.url == "/v1/sessions-profile"
    assert "status=400" in str(error)


def test_timeouts_raise_dintero_timeout(emu: Any, settings: Any) -> None:
    settings.DINTERO = {**settings.DINTERO, "READ_TIMEOUT": 0.2, "MAX_RETRIES": 0}
    emu.control.add_fault(operation="transaction_get", action="timeout_before", hang=1.0, times=1)
    with pytest.raises(DinteroTimeout):
        CheckoutClient().get_transaction("T12345678.x")


def test_secrets_and_tokens_never_logged(emu: Any, caplog: pytest.LogCaptureFixture, settings: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DinteroNotFound):
        CheckoutClient().get_transaction("T12345678.x")
    from dintero_django.client import token as tokens

    token_values = [t.value for t in tokens._memory.values()]
    assert token_values
    text = caplog.text
    assert settings.DINTERO["CLIENT_SECRET"] not in text
    assert all(value not in text for value in token_values)
    assert "transactions" in text  # the call itself is logged


def test_keep_alive_connection_is_reused(emu: Any) -> None:
    for _ in range(5):
        with pytest.raises(DinteroNotFound):
            CheckoutClient().get_transaction("T12345678.x")
    connections = {e.get("connection") for e in emu.control.requests_log()}
    assert len(connections) == 1
