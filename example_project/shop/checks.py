"""The example project says, at start-up, when it runs on the emulator's defaults."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Info, register
from django.utils.translation import gettext as _


@register()
def emulator_defaults(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "DINTERO_EMULATOR_DEFAULTS", False):
        return []
    return [
        Info(
            _(
                "No DINTERO_* connection variables are set: the shop talks to the Dintero emulator "
                "at %(url)s with its default credentials."
            )
            % {"url": settings.DINTERO["API_URL"]},
            hint=_(
                "Start it with `python -m dintero_django.emulator`, or run everything at once with "
                "`python3 example_project/demo.py`. For the real Dintero see docs/production.md."
            ),
            id="shop.I001",
        )
    ]
