"""A logged-in browser-like session on the admin (as tests/test_admin_money.py does), for the battery."""

from __future__ import annotations

import re
from typing import Any

import requests
from django.contrib.auth.models import Permission


def make_user(model: Any, name: str, *perms: str, staff: bool = True, superuser: bool = False) -> Any:
    if superuser:
        return model.objects.create_superuser(name, password="pw")
    user = model.objects.create_user(name, password="pw", is_staff=staff)
    if perms:
        user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    return user


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return match.group(1) if match else ""


def messages_of(html: str) -> list[str]:
    return re.findall(r'<li class="(?:success|error|warning|info)">(.*?)</li>', html, flags=re.S)


class Browser:
    def __init__(self, base: str, username: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.trust_env = False
        if username:
            page = self.http.get(f"{base}/admin/login/", timeout=30)
            response = self.http.post(
                f"{base}/admin/login/",
                data={"username": username, "password": "pw", "csrfmiddlewaretoken": csrf_of(page.text),
                      "next": "/admin/"},
                headers={"Referer": f"{base}/admin/login/"},
                timeout=30,
            )  # fmt: skip
            assert response.status_code == 200, response.status_code

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=60, allow_redirects=False)

    def post_form(
        self, path: str, data: dict[str, Any], *, token_from: str | None = None
    ) -> requests.Response:
        """POST like the browser: with the CSRF token of the page (or of ``token_from``)."""
        page = self.http.get(self.base + (token_from or path), timeout=60)
        token = csrf_of(page.text) or self.http.cookies.get("csrftoken", "")
        return self.http.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": self.base + path},
            timeout=120,
            allow_redirects=False,
        )

    def api(self, method: str, path: str, body: Any = None, *, csrf: bool = True) -> requests.Response:
        headers = {"Referer": self.base}
        if csrf:
            headers["X-CSRFToken"] = self.http.cookies.get("csrftoken", "")
        return self.http.request(method, self.base + path, json=body, headers=headers, timeout=60)
