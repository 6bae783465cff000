"""RetryLater crosses process boundaries: Celery pickles the error of a task out of retries."""

from __future__ import annotations

import pickle

from dintero_django.services.retry import RetryLater


def test_retry_later_survives_pickling() -> None:
    pickled = pickle.dumps(RetryLater("another worker is recording this order", 2))
    error = pickle.loads(pickled)  # noqa: S301 - bytes this test just made
    assert isinstance(error, RetryLater)
    assert str(error) == "another worker is recording this order" and error.countdown == 2
