"""WSGI entry point of the benchmarks' gunicorn (bench.settings)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

application = get_wsgi_application()

import example_project.celery  # noqa: E402, F401  (the project's Celery app: tasks go to Redis)
