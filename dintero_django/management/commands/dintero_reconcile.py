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
        parser.add_argument(
            "--time-limit",
            type=float,
            default=None,
            help="Take no new item after this many seconds (default: RECONCILE_TIME_LIMIT).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        time_limit = options["time_limit"]
        if older_than is not None and older_than < 0:
            raise CommandError("--older-than must be zero or positive.")
        if time_limit is not None and time_limit < 0:
            raise CommandError("--time-limit must be zero or positive.")
        try:
            counts = reconcile(older_than=older_than, time_limit=time_limit)
        except DinteroConfigurationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(counts, sort_keys=True))
