from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class DinteroConfig(AppConfig):
    name = "dintero_django"
    verbose_name = "Dintero"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the checks and the model receivers, and fills the services'
        # dispatch port with the Celery tasks.
        from . import checks, receivers, tasks  # noqa: F401

        setting_changed.connect(_settings_changed, dispatch_uid="dintero_settings_changed")


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "DINTERO":
        from .client import reset

        reset()
