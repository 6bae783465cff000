"""A shop integrates from the README alone (issue 20).

The wheel is built and installed with its extras into a clean virtual environment;
the README's quickstart (taken from README.md by this test) is pasted into a fresh
``django-admin startproject``, with its adapter and receiver and docs/rest-api.md's
schema lines. Then, over HTTP: order, checkout, payment on the emulator, the
receiver's signal, capture and refund through the staff API, the admin and the
schema, with no 5xx anywhere, on SQLite with tasks in-process and on SQLite with a
real ``celery worker``. The REST test that docs/emulator.md publishes runs too, in
the same kind of project, from the page itself.

Run by the gates of ``tests/run.py`` (once per CI run, on the wheel they build);
alone: ``pytest tests/packaging`` (builds the wheel itself).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests

from . import docs, project
from .project import QUICKSTART, Process, free_port, run, wait_until

REDIS_URL = os.environ.get("DINTERO_TEST_REDIS", "redis://127.0.0.1:6379/15")
STAFF = ("staff", "staff-password-for-tests")
JSON_5XX = re.compile(r'" 5\d\d ')  # runserver's access log: "POST /path HTTP/1.1" 500 1234

pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.monotonic()
    where = project.clean_venv(tmp_path_factory.mktemp("wheel"), docs.ROOT)
    print(f"\nwheel and clean venv: {time.monotonic() - started:.1f} s")
    return where


def base_env(venv: Path) -> dict[str, str]:
    """This process's environment without anything of our own suite's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DINTERO_", "CELERY_", "DJANGO_", "PYTEST_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return env


class QuickstartShop:
    """The pasted project, its emulator, its server and (with a broker) its worker."""

    def __init__(self, venv: Path, root: Path, *, broker: str | None) -> None:
        self.venv, self.root, self.broker = venv, root, broker
        self.url = f"http://127.0.0.1:{free_port()}"
        self.emulator_url = f"http://127.0.0.1:{free_port()}"
        exported = docs.exports(QUICKSTART)
        assert {"DINTERO_EMULATOR_URL", "DINTERO_SITE_URL", "CELERY_BROKER_URL"} <= exported.keys(), exported
        exported = {
            key: value.replace("http://127.0.0.1:8765", self.emulator_url).replace(
                "http://127.0.0.1:8000", self.url
            )
            for key, value in exported.items()
        }
        if broker:
            exported["CELERY_BROKER_URL"] = broker
        else:
            del exported["CELERY_BROKER_URL"]
        self.env = {**base_env(venv), **exported}
        self.processes: list[Process] = []

    def manage(self, *args: str) -> str:
        return run(self.venv / "bin" / "python", "manage.py", *args, cwd=self.root, env=self.env)

    def start(self) -> None:
        assert "python manage.py migrate" in QUICKSTART and "python manage.py check" in QUICKSTART
        self.manage("migrate", "--no-input")
        checks = self.manage("check", "--fail-level", "WARNING")
        assert "dintero." not in checks, checks
        run(
            self.venv / "bin" / "python", "manage.py", "createsuperuser", "--no-input",
            "--username", STAFF[0], "--email", "staff@example.com",
            cwd=self.root, env={**self.env, "DJANGO_SUPERUSER_PASSWORD": STAFF[1]},
        )  # fmt: skip
        python = self.venv / "bin" / "python"
        port = urlsplit(self.emulator_url).port
        (command,) = [line for line in QUICKSTART.splitlines() if "-m dintero_django.emulator" in line]
        assert "--callback-allow-http" in command, "a local http shop gets no callbacks without it"
        self.emulator = self.spawn(
            "emulator",
            [python, "-m", "dintero_django.emulator", "--port", str(port), "--callback-allow-http"],
        )
        wait_until(lambda: project.answers(self.emulator_url + "/_emulator/health"), 60, "the emulator")
        if self.broker:
            redis.Redis.from_url(self.broker).flushdb()
            self.worker = self.spawn(
                "worker",
                [self.venv / "bin" / "celery", "-A", "myshop", "worker", "--loglevel", "INFO",
                 "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            )  # fmt: skip
            wait_until(lambda: self.ready(self.worker), 90, "the celery worker")
        self.server = self.spawn(
            "server", [python, "manage.py", "runserver", self.url.split("//")[1], "--noreload"]
        )
        wait_until(lambda: project.answers(self.url + "/api/dintero/orders/"), 60, "the server")

    def spawn(self, name: str, cmd: list[str | Path]) -> Process:
        process = Process(cmd, self.root, self.env, self.root / f"{name}.log")
        self.processes.append(process)
        return process

    @staticmethod
    def ready(worker: Process) -> bool:
        assert worker.alive(), worker.output()[-3000:]
        return "ready." in worker.output()

    def logs(self) -> str:
        return "\n".join(f"== {p.log.name}\n{p.output()[-4000:]}" for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def start_shop(venv: Path, tmp_path: Path) -> Iterator[Any]:
    shops: list[QuickstartShop] = []

    def start(broker: str | None) -> QuickstartShop:
        shop = QuickstartShop(venv, project.start_project(venv, tmp_path / "shop"), broker=broker)
        shops.append(shop)
        shop.start()
        return shop

    yield start
    for shop in shops:
        shop.stop()
        print(shop.logs())


def test_quickstart_with_tasks_in_process(start_shop: Any) -> None:
    shop = start_shop(broker=None)
    flow(shop)


def test_quickstart_with_a_real_worker(start_shop: Any) -> None:
    shop = start_shop(broker=REDIS_URL)
    flow(shop)


def test_the_documented_shop_test_passes(venv: Path, tmp_path: Path) -> None:
    """docs/emulator.md's complete test, in the quickstart project, with the testing extra."""
    root = project.start_project(venv, tmp_path / "shop")
    (ini,) = docs.blocks(project.TESTING, "ini")
    project.paste(root, ini)
    example = docs.after_marker("docs/emulator.md", "example-test: tests/test_dintero.py")
    (root / "tests").mkdir()
    project.paste(root, example)
    output = run(
        venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-o", "log_cli=true", "--log-cli-level=ERROR",  # an error the test itself would not see
        cwd=root, env=base_env(venv),
    )  # fmt: skip
    assert re.search(r"\b1 passed\b", output), output
    assert not re.search(r"^ERROR ", output, re.MULTILINE), output[-5000:]


# -- the flow, over HTTP ------------------------------------------------------------


class Client:
    """requests, remembering every status code it saw."""

    def __init__(self, base: str, auth: tuple[str, str] | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.auth = auth
        self.statuses: list[tuple[int, str]] = []

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, self.base + path, timeout=60, **kwargs)
        self.statuses.append((response.status_code, f"{method} {path}"))
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:2000]}"
        return response


def flow(shop: QuickstartShop) -> None:
    customer, staff = Client(shop.url), Client(shop.url, STAFF)
    # The adapter prices from the catalogue: the browser's 1 øre is ignored.
    lines = [{"product_id": "chair", "description": "Chair", "quantity": 2, "unit_amount": 1}]
    created = customer.call("POST", "/api/dintero/orders/", json={"currency": "NOK", "lines": lines})
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert created.json()["amount"] == 39800
    order_path = f"/api/dintero/orders/{order_id}/"

    started = customer.call("POST", order_path + "checkout/", json={})
    assert started.status_code in (200, 202), started.text

    def payment() -> dict[str, Any]:
        order = customer.call("GET", order_path).json()
        assert order["checkout_error"] is None, order
        return dict(order["payment"] or {})

    checkout_url = wait_until(lambda: payment().get("checkout_url"), 60, "the checkout URL")
    assert checkout_url.startswith(shop.emulator_url)
    session_id = urlsplit(checkout_url).path.rstrip("/").rsplit("/", 1)[-1]
    paid = requests.post(
        f"{shop.emulator_url}/_emulator/sessions/{session_id}/pay", json={"outcome": "AUTHORIZED"}, timeout=30
    )
    assert paid.status_code == 200, paid.text
    wait_until(lambda: payment().get("state") == "authorized", 60, "the authorization")
    wait_until(lambda: f"Order {order_id} is paid: 39800 NOK" in shop.logs(), 30, "the receiver's log line")

    staff_path = f"/api/dintero/staff/orders/{order_id}/"
    captured = staff.call("POST", staff_path + "capture/", json={})
    assert captured.status_code == 200 and captured.json()["state"] == "succeeded", captured.text
    refunded = staff.call("POST", staff_path + "refund/", json={"amount": 19900, "reason": "One chair back"})
    assert refunded.status_code == 200 and refunded.json()["state"] == "succeeded", refunded.text
    final = customer.call("GET", order_path).json()
    assert (final["payment"]["captured_amount"], final["payment"]["refunded_amount"]) == (39800, 19900), final

    assert staff.call("GET", "/api/schema/").status_code == 200
    admin = Client(shop.url)
    admin.call("GET", "/admin/login/")
    login = {
        "username": STAFF[0],
        "password": STAFF[1],
        "csrfmiddlewaretoken": admin.http.cookies["csrftoken"],
        "next": "/admin/",
    }
    assert admin.call("POST", "/admin/login/", data=login, headers={"Referer": shop.url + "/admin/login/"}).ok
    orders = admin.call("GET", "/admin/dintero_django/order/")
    assert orders.url.endswith("/admin/dintero_django/order/") and final["order_id"] in orders.text, (
        orders.url
    )
    server_log = shop.server.output()
    assert not JSON_5XX.search(server_log), server_log[-4000:]
