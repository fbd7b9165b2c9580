"""Fixtures for the API key tests: a clock the services read instead of the real one."""

import datetime

import pytest
from django.utils import timezone

from apikeys import services


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta) -> datetime.datetime:
        """Move the clock forward by ``datetime.timedelta(**delta)`` and return the new time."""
        self.now += datetime.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Replace ``apikeys.services._now`` with a clock the test moves by hand."""
    clock = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(services, "_now", clock)
    return clock
