"""The dashboard's and the admin's sign-in: a limit on failed sign-ins, per address and username."""

import pytest
from django.urls import reverse

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
THROTTLED = "Too many failed sign-ins; try again in {} minutes."


@pytest.fixture
def window_start(clock):
    """Where the limits' windows start: the clock stands just past it (seconds since the epoch)."""
    return clock.next_hour()


@pytest.fixture
def limits(settings, window_start):
    """3 failures per username from one address, 5 per address, per 15 minutes."""
    settings.SIGNIN_FAILURE_RATE_PER_USERNAME = "3/15m"
    settings.SIGNIN_FAILURE_RATE_PER_ADDRESS = "5/15m"
    return settings


@pytest.fixture
def sign_in(client):
    """Post the sign-in form: ``sign_in(username, password, address=...)``."""

    def post(username, password, address=ATTACKER, url=None):
        return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)

    return post


def signed_in(response) -> bool:
    return "_auth_user_id" in response.wsgi_request.session


def errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_the_right_password_signs_in(limits, sign_in, owner):
    response = sign_in("olivia", "oliviaolivia")
    assert response.status_code == 302
    assert signed_in(response)


def test_too_many_failures_for_a_username_show_when_to_try_again(limits, sign_in, owner):
    answers = [sign_in("olivia", "wrong") for _ in range(3)]
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert "Please enter a correct username and password" in errors(answers[0])[0]
    assert errors(answers[-1]) == [THROTTLED.format(15)]
    assert THROTTLED.format(15) in answers[-1].content.decode()


def test_over_the_limit_even_the_right_password_is_refused_unchecked(
    limits, sign_in, owner, monkeypatch, clock, window_start
):
    for _ in range(3):
        sign_in("olivia", "wrong")
    clock.move_to(window_start + 14 * 60 + 1)

    def fail(*args, **kwargs):
        raise AssertionError("the password was checked")

    monkeypatch.setattr(type(owner), "check_password", fail)
    response = sign_in("olivia", "oliviaolivia")
    assert response.status_code == 200
    assert not signed_in(response)
    assert errors(response) == ["Too many failed sign-ins; try again in 1 minute."]


def test_failures_from_one_address_never_lock_the_person_out_from_another(limits, sign_in, owner):
    for _ in range(4):
        sign_in("olivia", "wrong", address=ATTACKER)
    assert signed_in(sign_in("olivia", "oliviaolivia", address=ELSEWHERE))


def test_failures_for_one_username_leave_others_at_the_address_alone(limits, sign_in, owner, member):
    for _ in range(3):
        sign_in("olivia", "wrong")
    assert signed_in(sign_in("marco", "marcomarco"))


def test_too_many_failures_from_one_address_refuse_every_username(limits, sign_in, owner, member):
    for username in ["nobody", "nobody", "admin", "admin", "root"]:
        sign_in(username, "guess")
    response = sign_in("marco", "marcomarco")
    assert not signed_in(response)
    assert errors(response) == [THROTTLED.format(15)]


def test_sign_in_works_again_when_the_window_ends(limits, sign_in, owner, clock, window_start):
    for _ in range(3):
        sign_in("olivia", "wrong")
    clock.move_to(window_start + 15 * 60)
    assert signed_in(sign_in("olivia", "oliviaolivia"))


def test_the_admin_sign_in_has_the_same_limit_and_message(limits, sign_in, superuser):
    url = reverse("admin:login")
    for _ in range(3):
        response = sign_in("root", "wrong", url=url)
    assert errors(response) == [THROTTLED.format(15)]
    assert not signed_in(sign_in("root", "rootroot", url=url))
