"""`manage.py dintero_reconcile`: bad options get a command error, never a traceback."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("option", ["--older-than", "--time-limit"])
def test_negative_values_are_refused(option: str) -> None:
    with pytest.raises(CommandError, match=f"{option} must be zero or positive"):
        call_command("dintero_reconcile", option, "-1")


def test_nothing_to_do_prints_empty_counters() -> None:
    out = StringIO()
    call_command("dintero_reconcile", "--older-than", "0", "--time-limit", "30", stdout=out)
    assert json.loads(out.getvalue()) == {}
