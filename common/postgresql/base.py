"""Django's PostgreSQL backend, except that the health check of a kept connection gives up in bounded time.

With ``CONN_MAX_AGE`` > 0 a request reuses the connection of an earlier one, after Django's health
check (``CONN_HEALTH_CHECKS``) has run ``SELECT 1`` on it. Django runs that query with no timeout,
and libpq's ``connect_timeout`` only bounds new connections: a server that stops answering while
its kernel still accepts and acknowledges TCP (a paused or hung PostgreSQL, or a host that froze)
would hold the request until the app server kills its worker. Here the check sends ``SELECT 1``
with psycopg's libpq wrapper (``psycopg.pq``) and waits for the answer on the connection's socket
for at most ``HEALTH_CHECK_TIMEOUT`` seconds. A connection that does not answer in time is
unusable: Django closes it and opens a new one, which ``connect_timeout`` bounds, and a server that
cannot be reached is answered 503 (``common.api.errors``).
"""

import selectors
import time

from django.db.backends.postgresql import base
from psycopg import pq

# A live server answers SELECT 1 in well under a millisecond; a connection that needs longer than
# this is treated as gone (the cost of a wrong guess is one reconnection).
HEALTH_CHECK_TIMEOUT = 1.0


def answers_within(pgconn: pq.abc.PGconn, timeout: float) -> bool:
    """Return whether the server behind ``pgconn`` answers ``SELECT 1`` successfully within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    answered = True
    with selectors.DefaultSelector() as selector:
        pgconn.send_query(b"SELECT 1")
        selector.register(pgconn.socket, selectors.EVENT_READ)
        while True:
            pgconn.consume_input()
            if pgconn.is_busy():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                selector.select(remaining)
                continue
            result = pgconn.get_result()
            if result is None:
                return answered
            answered = answered and result.status == pq.ExecStatus.TUPLES_OK


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL DatabaseWrapper whose health check waits at most ``HEALTH_CHECK_TIMEOUT`` seconds."""

    def is_usable(self):
        """Return whether the kept connection answers a trivial query in time."""
        if self.connection is None:
            return False
        timeout = min(
            HEALTH_CHECK_TIMEOUT, float(self.settings_dict["OPTIONS"].get("connect_timeout") or HEALTH_CHECK_TIMEOUT)
        )
        try:
            return answers_within(self.connection.pgconn, timeout)
        except (self.Database.Error, OSError):
            return False
