"""The test clock: time stands still until a test moves it, everywhere (time-machine)."""

import datetime
import time

import time_machine


class Clock:
    """A stopped clock. ``timezone.now()`` and ``time.time()`` return ``now`` until ``advance()`` moves it."""

    def __init__(self, traveller: time_machine.Traveller, start: datetime.datetime):
        self._traveller = traveller
        self.start = start

    @property
    def now(self) -> datetime.datetime:
        """Return the current (stopped) time, aware, in UTC."""
        return datetime.datetime.fromtimestamp(time.time(), tz=datetime.UTC)

    def advance(self, **delta) -> datetime.datetime:
        """Move the clock forward by ``datetime.timedelta(**delta)`` and return the new time."""
        self._traveller.shift(datetime.timedelta(**delta))
        return self.now

    def move_to(self, when: datetime.datetime | float) -> datetime.datetime:
        """Move the clock to ``when`` (an aware datetime, or seconds since the epoch) and return it."""
        if not isinstance(when, datetime.datetime):
            when = datetime.datetime.fromtimestamp(when, tz=datetime.UTC)
        self._traveller.move_to(when)
        return self.now

    def next_hour(self) -> float:
        """Move the clock just past the next whole hour, where every window of a limit starts; return that hour.

        Returned as seconds since the epoch: a whole number of minutes, quarters and hours.
        """
        hour = (int(time.time()) // 3600 + 1) * 3600
        self.move_to(hour + 0.5)
        return float(hour)
