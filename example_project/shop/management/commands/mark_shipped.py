from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dintero_django import api

from ...fulfilment import mark_shipped


class Command(BaseCommand):
    help = "Mark orders shipped: capture their payments (charge on dispatch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("orders", nargs="+", help="Public id or Dintero order id of each order.")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for ref in options["orders"]:
            try:
                operation = mark_shipped(ref)
            except (api.PaymentError, api.DinteroError) as error:
                failed += 1
                self.stderr.write(f"{ref}: not captured: {error}")
                continue
            self.stdout.write(f"{ref}: capture {operation.reference} {operation.state}, {operation.amount}")
        if failed:
            raise CommandError(f"{failed} order(s) not captured.")
