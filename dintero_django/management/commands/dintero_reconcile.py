from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...exceptions import DinteroConfigurationError
from ...services.reconcile import reconcile


class Command(BaseCommand):
    help = "Sync every payment, order and operation that is not final from Dintero (the reconciler)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            help="Only look at things untouched this many seconds (default: RECONCILE_AFTER).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        if older_than is not None and older_than < 0:
            raise CommandError("--older-than must be zero or positive.")
        try:
            counts = reconcile(older_than=older_than)
        except DinteroConfigurationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(counts, sort_keys=True))
