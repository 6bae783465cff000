"""Browser tier: the example shop in Debian's headless Chromium, driven by Playwright.

How the shop gets into the test project (tests/settings.py and tests/urls.py stay
as they are):

* ``pytest_configure`` below adds ``example_project.shop`` to INSTALLED_APPS as soon
  as this folder is collected, i.e. before pytest-django creates the test database,
  so its tables exist. It is an ``override_settings`` that stays on for the run:
  installing an app changes nothing for the other tests (the shop has no receivers
  on the app's own models, and nothing routes to it).
* The ``demo_shop`` fixture points ROOT_URLCONF at tests/browser/urls.py (the test
  URLs plus the shop) and sets DINTERO["RESULT_URL"] as example_project/settings.py
  does, on top of the ``shop`` fixture (live server + emulator) of tests/conftest.py.

Chromium is never downloaded: Playwright launches /usr/bin/chromium (Debian's
``chromium`` package; ``playwright install`` is not used). Without it the tests are
skipped with the reason shown, and fail when the environment variable CI is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.conftest import Shop

SHOP_APP = "example_project.shop"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("DINTERO_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
#: Generous for a loaded 2-core CI machine; Playwright waits only as long as needed.
TIMEOUT_MS = 20_000

_shop_installed: Any = None


def pytest_configure(config: pytest.Config) -> None:
    global _shop_installed
    if SHOP_APP not in django_settings.INSTALLED_APPS:
        _shop_installed = override_settings(INSTALLED_APPS=[*django_settings.INSTALLED_APPS, SHOP_APP])
        _shop_installed.enable()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _shop_installed is not None:
        _shop_installed.disable()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _require_chromium() -> None:
    problems = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the Python package playwright (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    if problems:
        message = "Browser tests need " + " and ".join(problems) + "."
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def demo_shop(shop: Shop, settings: Any) -> Shop:
    """The live server serving the demo shop, paying on the emulator, with products."""
    from example_project.shop.catalog import seed_products

    settings.ROOT_URLCONF = "tests.browser.urls"
    settings.DINTERO = {
        **settings.DINTERO,
        "RESULT_URL": "/order/{order}/",
        "ADAPTER": "example_project.shop.adapters.CatalogueOrderAdapter",
    }
    seed_products()
    return shop


@pytest.fixture
def browser(demo_shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """A fresh headless Chromium per test, started after the database fixtures.

    Playwright's sync API keeps an asyncio loop in this thread, which Django takes
    for an async context and refuses ORM calls in. The calls here are plain
    synchronous ones, so the check is switched off, only while the browser runs.
    """
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """test-artifacts/browser/<test name>/, emptied first."""
    folder = ARTIFACTS / "browser" / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def page(browser: Browser, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a new browser context (its own cookies: a new guest)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=artifacts / "failure.png", full_page=True)
    context.close()


@pytest.fixture
def screenshot(page: Page, artifacts: Path) -> Callable[[str], Path]:
    """``screenshot("01-products")`` saves the full page under the test's artifacts."""

    def take(name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
