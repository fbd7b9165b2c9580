"""The one-query key lookup gives exactly the models the ORM gives, on every database the suite runs on."""

import datetime

import pytest
from django.utils import timezone

from apikeys import selectors
from apikeys.models import ApiKey
from environments.models import Environment


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="new-key"),
        pytest.param({"expires_at": timezone.now() + datetime.timedelta(days=3)}, id="with-expiry"),
    ],
)
def test_the_lookup_loads_the_key_and_its_environment_as_the_orm_does(environment, make_key, options):
    key, _ = make_key(environment, name="deploy", description="CI", **options)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - datetime.timedelta(hours=1))
    expected = ApiKey.objects.select_related("environment").get(pk=key.pk)

    found = selectors.key_for_authentication(access_key=key.access_key)

    assert _values(found) == _values(expected)
    assert _values(found.environment) == _values(expected.environment)
    for value in (found.created_at, found.last_used_at, found.environment.created_at):
        assert timezone.is_aware(value)
    assert not found._state.adding
    assert found._state.db == expected._state.db


def test_the_lookup_costs_one_query_and_reads_the_row_every_time(environment, make_key, django_assert_num_queries):
    key, _ = make_key(environment)
    with django_assert_num_queries(1):
        first = selectors.key_for_authentication(access_key=key.access_key)
        assert first.environment.name == "production"
    ApiKey.objects.filter(pk=key.pk).update(state="inactive")
    Environment.objects.filter(pk=environment.pk).update(name="renamed")

    again = selectors.key_for_authentication(access_key=key.access_key)

    assert (again.state, again.environment.name) == ("inactive", "renamed")


def test_an_unknown_access_key_is_none(db):
    assert selectors.key_for_authentication(access_key="EK000000000000000000") is None
