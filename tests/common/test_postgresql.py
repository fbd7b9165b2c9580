"""The PostgreSQL backend's bounded health check (common.postgresql) on a live connection.

A paused server is covered against real processes in tests/test_database_unavailable.py.
"""

import pytest
from django.db import DataError, connection, connections

from tests.support import engines


@pytest.mark.django_db
def test_a_live_connection_passes_the_health_check_and_is_left_ready_for_the_next_query():
    engines.require_postgresql()
    connection.ensure_connection()

    assert connection.vendor == "postgresql"
    assert type(connections["default"]).__module__ == "common.postgresql.base"
    assert connection.is_usable() is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)


@pytest.mark.django_db
def test_a_connection_in_a_failed_transaction_fails_the_health_check():
    engines.require_postgresql()
    with connection.cursor() as cursor:
        with pytest.raises(DataError):
            cursor.execute("SELECT 1/0")

    assert connection.is_usable() is False
