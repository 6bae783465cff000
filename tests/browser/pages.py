"""Reusable browser steps for the demo-shop walks (Playwright, sync API)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def log_into_admin(page: Page, base_url: str, username: str, password: str) -> None:
    """Log into the Django admin through its login form, as staff would.

    The browser context keeps the session cookie, so later ``page.goto`` calls
    to ``/admin/...`` are logged in. Any guest data of the session (its orders)
    is kept: Django rotates the session key on login but keeps its contents.
    """
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#login-form [type=submit]").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


def open_admin_order(page: Page, base_url: str, public_id: str) -> None:
    """Open the admin change page of a Dintero order, found by its public id."""
    page.goto(f"{base_url}/admin/dintero_django/order/?q={public_id}")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("th a").click()
    expect(page.locator("#order_form")).to_be_visible()
