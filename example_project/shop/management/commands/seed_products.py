from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...catalog import seed_products


class Command(BaseCommand):
    help = "Create or update the demo shop's products (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = seed_products()
        self.stdout.write(f"Products: {created} created, {updated} updated.")
