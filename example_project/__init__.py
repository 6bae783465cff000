"""The example shop. Importing it loads the project's Celery app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
