"""The one non-error outcome a service can report to the task that ran it."""

from __future__ import annotations


class RetryLater(Exception):
    """Nothing is wrong, but the payment must be looked at again later."""

    def __init__(self, message: str, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown

    def __reduce__(self) -> tuple[type[RetryLater], tuple[str, float]]:
        # Celery pickles the exception of a task that ran out of retries.
        return RetryLater, (str(self), self.countdown)
