"""Rates and identities of the failure counters behind the brute-force limits."""

import pytest
from django.core.checks import run_checks

from common.limits import address_ident, parse_rate


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("10/min", (10, 60), id="per-minute"),
        pytest.param("10/m", (10, 60), id="drf-short-form"),
        pytest.param("5/15m", (5, 900), id="per-fifteen-minutes"),
        pytest.param("100/hour", (100, 3600), id="per-hour"),
        pytest.param("3/s", (3, 1), id="per-second"),
        pytest.param("1000/day", (1000, 86400), id="per-day"),
        pytest.param(" 7 / 2h ", (7, 7200), id="spaces"),
        pytest.param("", None, id="empty-means-no-limit"),
    ],
)
def test_a_rate_is_failures_per_window(text, parsed):
    assert parse_rate(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ten/min", id="count-not-a-number"),
        pytest.param("10", id="no-period"),
        pytest.param("10/15", id="no-unit"),
        pytest.param("10/week", id="unknown-unit"),
        pytest.param("10/0m", id="empty-period"),
        pytest.param("-1/min", id="negative"),
    ],
)
def test_an_unreadable_rate_is_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_an_unreadable_rate_setting_fails_the_system_check(settings):
    settings.AUTH_FAILURE_RATE_PER_KEY = "lots"
    errors = [message for message in run_checks() if message.id == "envkeys.E001"]
    assert [error.msg for error in errors] == [
        'AUTH_FAILURE_RATE_PER_KEY: \'lots\' is not a rate such as "10/min" or "5/15m".'
    ]


@pytest.mark.parametrize(
    ("address", "ident"),
    [
        pytest.param("192.0.2.1", "192.0.2.1", id="ipv4"),
        pytest.param("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", id="ipv6-counts-per-64"),
        pytest.param("::ffff:192.0.2.1", "192.0.2.1", id="ipv4-mapped-ipv6"),
    ],
)
def test_an_address_is_counted_by_its_ip_or_its_ipv6_64(address, ident):
    assert address_ident(address) == ident


def test_a_value_that_is_not_an_address_still_gets_a_cache_safe_identity():
    ident = address_ident("not an address\x00")
    assert ident.startswith("other-") and ident.isprintable() and " " not in ident
