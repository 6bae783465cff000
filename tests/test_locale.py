"""The shipped Norwegian Bokmål translation: complete, compiled from the .po, and used."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path
from typing import Any

import pytest

import dintero_django
from tests.helpers import start_and_pay
from tests.test_admin_money import Staff, make_staff

LOCALE = Path(dintero_django.__file__).parent / "locale"


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (enough of the format for our own files)."""
    entries: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        match = re.search(r"^msgid (.*?)^msgstr (.*)", block, flags=re.S | re.M)
        if match:
            msgid, msgstr = (
                "".join(json.loads(line) for line in part.strip().split("\n")) for part in match.groups()
            )
            if msgid:
                entries[msgid] = msgstr
    return entries


def test_nb_is_complete_and_the_mo_is_compiled_from_the_po() -> None:
    po = po_entries(LOCALE / "nb/LC_MESSAGES/django.po")
    assert len(po) > 150
    assert [msgid for msgid, msgstr in po.items() if not msgstr] == []
    with (LOCALE / "nb/LC_MESSAGES/django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert {msgid: catalog.gettext(msgid) for msgid in po} == po  # no entry stale or missing


@pytest.mark.timeout(120)
def test_admin_speaks_norwegian(shop: Any, django_user_model: Any, settings: Any) -> None:
    _o, payment, _tx = start_and_pay(shop, "AUTHORIZED")
    shop.control.wait_callbacks()
    settings.LANGUAGE_CODE = "nb"
    make_staff(django_user_model, "sjef", superuser=True)
    staff = Staff(shop.url, "sjef")
    page = staff.get(f"/admin/dintero_django/order/{payment.order.pk}/change/").text
    assert "Betalingshistorikk" in page and "Reservert" in page
    assert "996,00\u00a0kr" in page
    form = staff.submit(f"/admin/dintero_django/order/{payment.order.pk}/capture/", {"amount": "12,345"})
    assert form.status_code == 400 and "NOK har 2 desimaler" in form.text
