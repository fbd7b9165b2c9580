"""The keys table of an environment's API page: filters, search, sort, pages, relative times, expiry flags,
its query count, the deactivate confirmation, and the expiring count on the environments list.
"""

import datetime
import re

import pytest
from django.utils import timezone

from apikeys import selectors, services
from apikeys.models import REFUSALS, Action, ApiKey, State
from apikeys.views import KEYS_PER_PAGE

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def api_page(environment) -> str:
    return f"/environments/{environment.pk}/api/"


def names(response) -> list[str]:
    return [row["key"].name for row in response.context["rows"]]


def set_times(key, **fields) -> None:
    """Write times the services refuse or set themselves (a past expiry, a creation or last-use time)."""
    ApiKey.objects.filter(pk=key.pk).update(**fields)


@pytest.fixture
def client(web_client_for, owner):
    return web_client_for(owner)


@pytest.fixture
def four_states(environment, make_key):
    """One key of each kind a person tells apart: active, active but expired, inactive, inactive and expired."""
    now = timezone.now()
    active, _ = make_key(environment, name="active")
    expired, _ = make_key(environment, name="expired", expires_at=now + DAY)
    inactive, _ = make_key(environment, name="inactive")
    both, _ = make_key(environment, name="inactive-expired", expires_at=now + DAY)
    set_times(expired, expires_at=now - DAY)
    set_times(both, expires_at=now - DAY)
    services.deactivate_api_key(key=inactive)
    services.deactivate_api_key(key=both)
    return {"active": active, "expired": expired, "inactive": inactive, "both": both}


# --- Filters by badge --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, shown",
    [
        pytest.param("", {"active", "expired", "inactive", "inactive-expired"}, id="all"),
        pytest.param("active", {"active"}, id="active-leaves-out-expired"),
        pytest.param("expired", {"expired"}, id="expired"),
        pytest.param("inactive", {"inactive", "inactive-expired"}, id="inactive"),
        pytest.param("EXPIRED", {"active", "expired", "inactive", "inactive-expired"}, id="unknown-shows-all"),
    ],
)
def test_each_filter_shows_the_keys_whose_badge_it_names(client, environment, four_states, state, shown):
    response = client.get(api_page(environment), {"state": state})
    assert response.status_code == 200
    assert set(names(response)) == shown
    badges = {row["key"].name: row["key"].status_label for row in response.context["rows"]}
    if state in ("active", "expired", "inactive"):
        assert set(badges.values()) == {state.capitalize()}


def test_the_expired_filter_sits_beside_active_and_inactive(client, environment, four_states):
    html = client.get(api_page(environment), {"state": "expired"}).content.decode()
    filters = re.search(r'<nav class="filters".*?</nav>', html, re.S).group(0)
    assert re.findall(r">(\w+)</a>", filters) == ["All", "Active", "Inactive", "Expired"]
    assert '<a href="?state=expired" aria-current="true">Expired</a>' in filters


@pytest.mark.parametrize(
    "query, message",
    [
        pytest.param({}, "There are no API keys for this environment yet.", id="no-keys"),
        pytest.param({"state": "active"}, "No active API keys in production.", id="active"),
        pytest.param({"state": "inactive"}, "No inactive API keys in production.", id="inactive"),
        pytest.param({"state": "expired"}, "No expired API keys in production.", id="expired"),
        pytest.param({"q": "nothing"}, "No API keys in production match “nothing”.", id="search"),
        pytest.param(
            {"state": "expired", "q": "nothing"}, "No expired API keys in production match “nothing”.", id="both"
        ),
    ],
)
def test_each_filter_has_its_own_empty_state(client, environment, query, message):
    html = client.get(api_page(environment), query).content.decode()
    assert message in re.sub(r"\s+", " ", html)
    assert "<table" not in html


def test_the_search_empty_state_offers_to_clear_the_search_and_keep_the_filter(client, environment, key_pair):
    html = client.get(api_page(environment), {"state": "active", "q": "zzz", "sort": "name"}).content.decode()
    assert '<a href="?state=active&amp;sort=name">Clear the search</a>' in html


# --- Search ------------------------------------------------------------------------------------


@pytest.fixture
def searchable(environment, make_key):
    keys = {
        "deploy": make_key(environment, name="ci-deploy", description="Deploys from GitHub")[0],
        "backup": make_key(environment, name="backup", description="Nightly dump, 100% of tables")[0],
        "grafana": make_key(environment, name="grafana_reader", description="")[0],
    }
    return keys


@pytest.mark.parametrize(
    "search, shown",
    [
        pytest.param("DEPLOY", {"ci-deploy"}, id="name-any-case"),
        pytest.param("github", {"ci-deploy"}, id="description"),
        pytest.param("  backup  ", {"backup"}, id="spaces-around-ignored"),
        pytest.param("dep\x00loy", {"ci-deploy"}, id="nul-character-dropped"),
        pytest.param("100%", {"backup"}, id="percent-is-literal"),
        pytest.param("%", {"backup"}, id="lone-percent-is-literal"),
        pytest.param("_", {"grafana_reader"}, id="underscore-is-literal"),
        pytest.param("", {"ci-deploy", "backup", "grafana_reader"}, id="empty-shows-all"),
        pytest.param("no such key", set(), id="no-match"),
    ],
)
def test_search_matches_name_and_description_ignoring_case(client, environment, searchable, search, shown):
    response = client.get(api_page(environment), {"q": search})
    assert set(names(response)) == shown


def test_search_matches_part_of_an_access_key_in_any_case(client, environment, searchable):
    access_key = searchable["backup"].access_key
    response = client.get(api_page(environment), {"q": access_key[3:11].lower()})
    assert names(response) == ["backup"]


def test_a_search_longer_than_a_name_is_cut_and_the_page_still_works(client, environment, searchable):
    response = client.get(api_page(environment), {"q": "ci-deploy" + "x" * 5000})
    assert response.status_code == 200
    assert response.context["search"] == ("ci-deploy" + "x" * 5000)[:100]


def test_a_search_is_shown_escaped(client, environment, key_pair):
    html = client.get(api_page(environment), {"q": '<script>alert("x")</script>'}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_search_never_shows_keys_of_another_environment(client, environment, other_environment, make_key):
    make_key(other_environment, name="ci-deploy-staging")
    assert names(client.get(api_page(environment), {"q": "ci-deploy"})) == []


# --- Sort --------------------------------------------------------------------------------------


@pytest.fixture
def sortable(environment, make_key):
    """Four keys with known creation, last-use and expiry times (some never used, some never expiring)."""
    now = timezone.now()
    spec = {
        # name: (created days ago, last used days ago or None, expires in days or None)
        "Bravo": (4, 2, 10),
        "alpha": (3, None, None),
        "charlie": (2, 1, 3),
        "delta": (1, None, 30),
    }
    for name, (created, used, expires) in spec.items():
        key, _ = make_key(environment, name=name, expires_at=now + DAY * expires if expires else None)
        set_times(
            key,
            created_at=now - DAY * created,
            last_used_at=now - DAY * used if used is not None else None,
        )


@pytest.mark.parametrize(
    "sort, order",
    [
        pytest.param("", ["delta", "charlie", "alpha", "Bravo"], id="default-newest-first"),
        pytest.param("name", ["alpha", "Bravo", "charlie", "delta"], id="name-ignoring-case"),
        pytest.param("-name", ["delta", "charlie", "Bravo", "alpha"], id="name-reversed"),
        pytest.param("created", ["Bravo", "alpha", "charlie", "delta"], id="oldest-first"),
        pytest.param("-last_used", ["charlie", "Bravo", "delta", "alpha"], id="used-most-recently-never-last"),
        pytest.param("last_used", ["alpha", "delta", "Bravo", "charlie"], id="used-longest-ago-never-first"),
        pytest.param("expires", ["charlie", "Bravo", "delta", "alpha"], id="expiring-soonest-never-last"),
        pytest.param("-expires", ["alpha", "delta", "Bravo", "charlie"], id="expiring-last-never-first"),
        pytest.param("bogus", ["delta", "charlie", "alpha", "Bravo"], id="unknown-is-the-default"),
        pytest.param("name;DROP TABLE", ["delta", "charlie", "alpha", "Bravo"], id="injection-is-the-default"),
    ],
)
def test_each_sort_orders_the_keys(client, environment, sortable, sort, order):
    response = client.get(api_page(environment), {"sort": sort})
    assert response.status_code == 200
    assert names(response) == order


@pytest.mark.parametrize(
    "sort, aria_sort, next_click",
    [
        pytest.param("", "descending", "?state=active&amp;sort=created", id="default-created"),
        pytest.param("created", "ascending", "?state=active", id="back-to-the-default"),
        pytest.param("name", "ascending", "?state=active&amp;sort=-name", id="name-reverses"),
        pytest.param("-expires", "descending", "?state=active&amp;sort=expires", id="expires-reverses"),
    ],
)
def test_the_sorted_column_says_so_and_its_header_reverses_it(
    client, environment, key_pair, sort, aria_sort, next_click
):
    html = client.get(api_page(environment), {"sort": sort, "state": "active", "page": "1"}).content.decode()
    headers = re.findall(r'<th scope="col" aria-sort="(\w+)"><a class="sort-link" href="([^"]*)">', html)
    assert headers == [(aria_sort, next_click)]


# --- Pages -------------------------------------------------------------------------------------


@pytest.fixture
def many_keys(environment, make_key, monkeypatch):
    """12 keys, "key-000" the oldest, shown 5 to a page."""
    monkeypatch.setattr("apikeys.views.KEYS_PER_PAGE", 5)
    now = timezone.now()
    for number in range(12):
        key, _ = make_key(environment, name=f"key-{number:03d}")
        set_times(key, created_at=now - datetime.timedelta(minutes=12 - number))


@pytest.mark.parametrize(
    "page, number, first",
    [
        pytest.param("", 1, "key-011", id="first"),
        pytest.param("2", 2, "key-006", id="second"),
        pytest.param("3", 3, "key-001", id="last"),
        pytest.param("4", 3, "key-001", id="past-the-end-is-the-last"),
        pytest.param("99999999999999999999999", 3, "key-001", id="huge-is-the-last"),
        pytest.param("0", 1, "key-011", id="zero-is-the-first"),
        pytest.param("-2", 1, "key-011", id="negative-is-the-first"),
        pytest.param("two", 1, "key-011", id="not-a-number-is-the-first"),
        pytest.param("1.5", 1, "key-011", id="fraction-is-the-first"),
    ],
)
def test_pages_hold_a_page_of_keys_and_odd_page_numbers_never_fail(client, environment, many_keys, page, number, first):
    response = client.get(api_page(environment), {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == number
    shown = names(response)
    assert shown[0] == first
    assert len(shown) == (2 if number == 3 else 5)


def test_a_page_past_the_end_of_an_empty_table_shows_the_empty_state(client, environment):
    response = client.get(api_page(environment), {"page": "7"})
    assert response.status_code == 200
    assert "There are no API keys for this environment yet." in response.content.decode()


def test_page_links_keep_the_filter_search_and_sort(client, environment, many_keys):
    html = client.get(
        api_page(environment), {"state": "active", "q": "key", "sort": "name", "page": "2"}
    ).content.decode()
    pages = re.search(r'<nav class="pagination".*?</nav>', html, re.S).group(0)
    assert '<a href="?state=active&amp;q=key&amp;sort=name" rel="prev">Previous</a>' in pages
    assert '<a href="?state=active&amp;q=key&amp;sort=name&amp;page=3" rel="next">Next</a>' in pages
    assert 'aria-current="page"><span class="visually-hidden">Page </span>2</a>' in pages
    assert "Keys 6–10 of 12 matching “key”, active only." in re.sub(r"\s+", " ", html)


def test_changing_the_filter_or_sort_goes_back_to_the_first_page(client, environment, many_keys):
    html = client.get(api_page(environment), {"q": "key", "page": "2"}).content.decode()
    assert '<a href="?state=inactive&amp;q=key">Inactive</a>' in html
    assert '<a class="sort-link" href="?q=key&amp;sort=name">Name</a>' in html


def test_one_page_needs_no_page_links(client, environment, key_pair):
    html = client.get(api_page(environment)).content.decode()
    assert 'class="pagination"' not in html
    assert "1 key." in html


# --- What the list costs ------------------------------------------------------------------------


FILTERED = {"state": "active", "q": "key", "sort": "-last_used"}


@pytest.mark.parametrize(
    "count, query, shown",
    [
        pytest.param(1, {}, 1, id="1-key"),
        pytest.param(300, {}, KEYS_PER_PAGE, id="300-keys"),
        pytest.param(1, FILTERED, 1, id="1-key-filtered-searched-sorted"),
        pytest.param(300, {**FILTERED, "page": "6"}, KEYS_PER_PAGE, id="300-keys-filtered-searched-sorted-last-page"),
    ],
)
def test_the_api_page_costs_eight_queries_whatever_the_number_of_keys(
    client, environment, make_key, count, query, shown, django_assert_num_queries
):
    for number in range(count):
        make_key(environment, name=f"key-{number}", expires_at=timezone.now() + DAY * (number + 1))
    client.get(api_page(environment))  # the session now remembers the environment
    # Session, user, the environment, the requester's role, the people who created keys (the
    # created-by filter), the keys (with their total as a window count), the header's environment
    # switcher (two).
    with django_assert_num_queries(8):
        response = client.get(api_page(environment), query)
    assert response.status_code == 200
    assert len(response.context["rows"]) == shown


def test_only_a_page_past_the_end_costs_a_count_and_a_second_read(
    client, environment, key_pair, django_assert_num_queries
):
    client.get(api_page(environment))
    with django_assert_num_queries(10):
        response = client.get(api_page(environment), {"page": "5"})
    assert response.context["page"].number == 1
    assert names(response) == ["deploy"]


def test_the_total_counted_with_the_page_matches_a_count(environment, make_key):
    for number in range(7):
        make_key(environment, name=f"key-{number}")
    keys = selectors.key_table(environment=environment)
    page = selectors.key_page(keys, number=2, per_page=3)
    assert (page.number, page.total, [key.name for key in page.keys]) == (2, 7, ["key-3", "key-2", "key-1"])
    assert page.total == keys.count()


# --- Relative times and expiry ------------------------------------------------------------------


def test_last_used_and_expiry_read_as_relative_times_with_the_exact_time_on_hover(
    client, environment, make_key, clock, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    now = timezone.now()
    used, _ = make_key(environment, name="used", expires_at=now + DAY * 5 + datetime.timedelta(hours=1))
    set_times(used, last_used_at=now - DAY * 3 - datetime.timedelta(hours=2))
    expired, _ = make_key(environment, name="expired", expires_at=now + DAY)
    set_times(expired, expires_at=now - DAY * 2 - datetime.timedelta(minutes=5))
    response = client.get(api_page(environment))
    rows = {row["key"].name: row for row in response.context["rows"]}
    assert (rows["used"]["last_used"], rows["used"]["expires"]) == ("3\xa0days ago", "in 5\xa0days")
    assert (rows["expired"]["last_used"], rows["expired"]["expires"]) == ("Never", "expired 2\xa0days ago")
    html = response.content.decode()
    exact = timezone.localtime(now - DAY * 3 - datetime.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M %Z")
    assert exact.endswith(("CET", "CEST"))
    assert f'title="{exact}">3\xa0days ago</time>' in html


@pytest.mark.parametrize(
    "expires_in, flagged",
    [
        pytest.param(datetime.timedelta(hours=1), True, id="in-an-hour"),
        pytest.param(DAY * 6, True, id="in-6-days"),
        pytest.param(DAY * 7, True, id="in-exactly-7-days"),
        pytest.param(DAY * 7 + datetime.timedelta(seconds=1), False, id="just-over-7-days"),
        pytest.param(DAY * 30, False, id="in-30-days"),
        pytest.param(-DAY, False, id="already-expired"),
        pytest.param(None, False, id="never"),
    ],
)
def test_keys_expiring_within_seven_days_are_flagged(client, environment, make_key, clock, expires_in, flagged):
    now = timezone.now()
    key, _ = make_key(environment, name="k", expires_at=now + DAY * 60 if expires_in else None)
    set_times(key, expires_at=now + expires_in if expires_in else None)
    html = client.get(api_page(environment)).content.decode()
    row = re.search(rf'<tr class="key-row ([^"]*)" id="key-{key.pk}">(.*?)</tr>', html, re.S)
    assert ("key-expiring" in row.group(1)) is flagged
    assert ("Expires soon" in row.group(2)) is flagged


def test_an_inactive_key_that_would_expire_soon_is_not_flagged(client, environment, make_key):
    key, _ = make_key(environment, expires_at=timezone.now() + DAY)
    services.deactivate_api_key(key=key)
    assert "Expires soon" not in client.get(api_page(environment)).content.decode()


# --- The environments list -----------------------------------------------------------------------


def test_the_environments_list_counts_keys_that_expire_within_seven_days(
    client, environment, other_environment, four_states, make_key
):
    now = timezone.now()
    make_key(environment, name="soon", expires_at=now + DAY * 2)
    make_key(environment, name="later", expires_at=now + DAY * 20)
    inactive_soon, _ = make_key(environment, name="inactive-soon", expires_at=now + DAY)
    services.deactivate_api_key(key=inactive_soon)
    response = client.get("/environments/")
    production = response.context["rows"][0]["environment"]
    # Active and not expired: "active", "soon", "later"; of them, "soon" expires within 7 days.
    assert (production.active_key_count, production.expiring_key_count) == (3, 1)
    html = response.content.decode()
    assert (
        f'<a class="badge badge-expiring" href="/environments/{environment.pk}/api/?state=active&amp;sort=expires">'
        "1 expiring within 7 days</a>"
    ) in html


def test_an_environment_without_expiring_keys_shows_no_flag(client, environment, key_pair):
    assert "expiring within" not in client.get("/environments/").content.decode()


@pytest.mark.parametrize("count", [1, 20])
def test_the_environments_list_costs_five_queries_whatever_the_number_of_environments(
    web_client_for, owner, make_key, count, django_assert_num_queries
):
    from environments import services as environment_services

    for number in range(count):
        env = environment_services.create_environment(name=f"env-{number}", owner=owner)
        make_key(env, expires_at=timezone.now() + DAY)
    client = web_client_for(owner)
    client.get(f"/environments/{env.pk}/api/")  # the session remembers an environment, as it does in use
    # Session, user, the environments with role and counts, the header's switcher (two).
    with django_assert_num_queries(5):
        response = client.get("/environments/")
    assert [row["environment"].expiring_key_count for row in response.context["rows"]] == [1] * count


# --- Deactivate asks first -----------------------------------------------------------------------


def test_deactivate_asks_first_naming_the_key_and_changes_nothing(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    response = web_client_for(member).get(
        f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"next": api_page(environment) + "?q=dep"}
    )
    assert response.status_code == 200
    html = re.sub(r"\s+", " ", response.content.decode())
    assert '<h1 class="wrap-anywhere">Deactivate API key deploy?</h1>' in html
    assert f'<code class="access-key">{key.access_key}</code>' in html
    assert "stops working from the next request on, for every script and person who uses it" in html
    assert "It has never been used." in html
    assert f'<input type="hidden" name="next" value="{api_page(environment)}?q=dep">' in html
    assert f'<a class="button" href="{api_page(environment)}?q=dep">Cancel</a>' in html
    key.refresh_from_db()
    assert key.state == State.ACTIVE


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("https://evil.example/", id="other-site"),
        pytest.param("//evil.example/", id="scheme-relative"),
        pytest.param("javascript:alert(1)", id="javascript"),
    ],
)
def test_the_confirmation_never_links_off_the_site(web_client_for, member, environment, key_pair, target):
    key, _ = key_pair
    html = (
        web_client_for(member)
        .get(f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"next": target})
        .content.decode()
    )
    assert target not in html
    assert f'<a class="button" href="{api_page(environment)}">Cancel</a>' in html


def test_confirming_deactivates_and_returns_to_the_same_view_of_the_table(
    web_client_for, member, environment, key_pair
):
    key, _ = key_pair
    back = api_page(environment) + "?state=active&q=dep"
    response = web_client_for(member).post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"next": back}, follow=True
    )
    assert response.redirect_chain == [(back, 302)]
    key.refresh_from_db()
    assert key.state == State.INACTIVE
    assert [str(message) for message in response.context["messages"]] == [
        f"API key “deploy” ({key.access_key}) deactivated: it can no longer be used."
    ]


def test_the_confirmation_says_when_the_key_was_last_used(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    set_times(key, last_used_at=timezone.now() - DAY * 3)
    html = web_client_for(member).get(f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/").content.decode()
    assert re.search(r"It was last used <time datetime=\"[^\"]+\" title=\"[^\"]+ UTC\">3\xa0days ago</time>\.", html)


def test_the_confirmation_of_a_key_already_inactive_says_so_instead(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)
    response = web_client_for(member).get(f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", follow=True)
    assert response.redirect_chain == [(api_page(environment), 302)]
    assert [str(message) for message in response.context["messages"]] == [REFUSALS[Action.DEACTIVATE]]


@pytest.mark.parametrize(
    "who, status", [pytest.param("reader", 403, id="read-only"), pytest.param("outsider", 404, id="outsider")]
)
def test_only_key_managers_see_the_confirmation(web_client_for, request, environment, key_pair, who, status):
    key, _ = key_pair
    url = f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/"
    assert web_client_for(request.getfixturevalue(who)).get(url).status_code == status


def test_the_menu_offers_deactivate_as_a_link_to_the_confirmation_keeping_the_view(client, environment, key_pair):
    key, _ = key_pair
    html = client.get(api_page(environment), {"state": "active", "q": "dep"}).content.decode()
    back = f"/environments/{environment.pk}/api/%3Fstate%3Dactive%26q%3Ddep"
    link = f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/?next={back}"
    assert f'<a class="menu-item" href="{link}">Deactivate…</a>' in html
    assert f'<span class="visually-hidden"> for key deploy ({key.access_key})</span>' in html


def test_messages_name_an_unnamed_key_by_its_access_key(web_client_for, member, environment, make_key):
    key, _ = make_key(environment)
    response = web_client_for(member).post(f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        f"API key {key.access_key} (no name) deactivated: it can no longer be used."
    ]


def test_the_allowed_actions_still_come_from_the_model(client, environment, four_states):
    html = client.get(api_page(environment)).content.decode()
    for key in four_states.values():
        row = re.search(rf'id="key-{key.pk}">(.*?)</tr>', html, re.S).group(1)
        assert ("Deactivate…" in row) is key.allows(Action.DEACTIVATE)
        assert (">Activate<" in row) is key.allows(Action.ACTIVATE)
        assert ("Delete…" in row) is key.allows(Action.DELETE)


def test_the_created_by_filter_combines_with_search_and_every_link_keeps_it(client, environment, owner, member):
    from common.actor import Actor

    for number in range(3):
        services.create_api_key(environment=environment, name=f"deploy-{number}", actor=Actor(owner))
    services.create_api_key(environment=environment, name="deploy-by-member", actor=Actor(member))
    client.force_login(owner)

    response = client.get(api_page(environment), {"created_by": member.username, "q": "deploy", "sort": "name"})

    assert names(response) == ["deploy-by-member"]
    page = response.content.decode()
    links = re.findall(r'href="(\?[^"]*)"', page)
    dropping = [link for link in links if f"created_by={member.username}" not in link]
    assert len(links) > 5
    # Only the other created-by choices change it: "Anyone" and the other creator.
    assert dropping == ["?q=deploy&amp;sort=name", f"?q=deploy&amp;created_by={owner.username}&amp;sort=name"]
    assert f'name="created_by" value="{member.username}"' in page
    # A username that created no key here is ignored rather than showing an empty table.
    assert len(names(client.get(api_page(environment), {"created_by": "nobody"}))) == 4
