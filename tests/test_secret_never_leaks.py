"""A secret key is shown once, in the response that creates it, and is found nowhere else.

One journey creates a key through every way there is (the API with a key and with a session, the
browsable API, the dashboard, the admin, the management command with and without ``--json``),
uses every key, changes them, and visits every page and endpoint a person would look at
afterwards. Everything is recorded: every response (body, headers, cookies, decoded messages
cookies), every log record of every logger at DEBUG (SQL included), every table of the database
(``dumpdata`` and raw SQL), the decoded sessions, the cache, the audit events and printed output.
Each of those places is then searched for each secret. Positive controls (the access keys, the
digests) prove that every place was really read.

Error reports (the e-mails of ``mail_admins``) are covered at the end: a secret, a Basic header
or a password held by a failing frame is hidden.
"""

import io
import logging
import pickle
import re
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import OperationalError, connection
from django.http import HttpRequest
from django.template.backends.django import Template
from django.test import Client, RequestFactory
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, get_default_exception_reporter_filter
from rest_framework.test import APIClient

from apikeys import crypto, selectors, services
from apikeys.authentication import ApiKeyAuthentication
from apikeys.models import ApiKey
from common.audit import records as audit
from common.audit.models import AuditAction, AuditEvent
from common.requestlog import JsonFormatter, RequestContextFilter
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

SECRET_SHAPE = re.compile(r"envk[A-Za-z0-9]{46}")
HTML = {"HTTP_ACCEPT": "text/html"}
# Sign-in passwords of the conftest users: they are posted in the journey and must not leak either.
PASSWORDS = {"olivia": "oliviaolivia", "root": "rootroot"}


def credentials(access_key: str, secret: str) -> str:
    """Return the base64 part of the Authorization header for the pair."""
    return basic_auth(access_key, secret).removeprefix("Basic ")


# --- Recording every place a secret could end up ----------------------------------------------


class EveryRecord(logging.Handler):
    """Keep every log record as text: the formatted line, its traceback and all its attributes."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.records: list[tuple[str, str]] = []
        # What LOG_FORMAT=json writes: the project's formatter, with the request id and access key.
        self.json_formatter = JsonFormatter()
        self.request_context = RequestContextFilter()
        self.json_lines: list[str] = []

    def emit(self, record):
        # The attributes too: a structured (JSON) formatter would print every one of them.
        self.records.append((record.name, f"{self.format(record)}\n{record.__dict__!r}"))
        self.request_context.filter(record)
        self.json_lines.append(self.json_formatter.format(record))


@pytest.fixture
def logs(caplog):
    """Capture every record of every logger at DEBUG, SQL statements included."""
    handler = EveryRecord()
    names = {"", "django", "django.request", "django.server", "django.security", "django.db.backends"}
    names |= {"django.template", "rest_framework", "envkeys", "apikeys", "environments", "py.warnings"}
    loggers = [logging.getLogger(name) for name in names | set(logging.root.manager.loggerDict)]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is logging.root or not logger.propagate:
            logger.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    # Log every SQL statement with its parameters, whatever DEBUG is.
    forced, connection.force_debug_cursor = connection.force_debug_cursor, True
    yield handler
    connection.force_debug_cursor = forced
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled
        logger.removeHandler(handler)


def _message_texts(value: str) -> str:
    messages = CookieStorage(HttpRequest())._decode(value)
    return "\n".join(str(message) for message in messages or [])


def _as_text(response) -> str:
    if response.streaming:
        content = b"".join(response.streaming_content)
        response.streaming_content = [content]
    else:
        content = response.content
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    return f"{response.status_code}\n{headers}\n{response.cookies.output()}\n\n{content.decode('utf-8', 'replace')}"


@pytest.fixture
def responses(monkeypatch) -> dict[str, str]:
    """Record every response any test client receives (and its decoded messages cookie), by label."""
    recorded: dict[str, str] = {}
    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        query = f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
        label = f"response #{len(recorded)}: {environ['REQUEST_METHOD']} {environ['PATH_INFO']}{query}"
        recorded[label] = _as_text(response)
        cookie = response.cookies.get("messages")
        if cookie is not None and cookie.value:
            recorded[f"messages cookie of {label}"] = _message_texts(cookie.value)
        return response

    monkeypatch.setattr(Client, "request", request)
    return recorded


def database_places() -> dict[str, str]:
    """Return everything in the database as text: ``dumpdata``, each table's raw rows, SQLite's dump."""
    places = {}
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    places["dumpdata"] = dump.getvalue()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            places[f"table {table}"] = repr(cursor.fetchall())
    if connection.vendor == "sqlite":
        places["sqlite dump"] = "\n".join(connection.connection.iterdump())
    for session in Session.objects.all():
        places[f"session {session.session_key[:8]}… decoded"] = repr(session.get_decoded())
    places["audit events"] = repr(list(AuditEvent.objects.values()))
    return places


def cache_places() -> dict[str, str]:
    """Return every key and (pickled) value in the default cache, as text."""
    backend = caches["default"]
    if isinstance(backend, LocMemCache):
        items = [(key, value) for key, value in backend._cache.items()]
    elif isinstance(backend, RedisCache):
        client = backend._cache.get_client()
        items = [(key, client.get(key)) for key in client.scan_iter()]
    else:
        raise AssertionError(f"No way to read a {type(backend).__name__} cache: add one here.")
    return {f"cache {key!r}": f"{key!r} {value!r} {_unpickled(value)!r}" for key, value in items}


def _unpickled(value):
    try:
        return pickle.loads(value)
    except Exception:
        return value


def log_places(logs: EveryRecord, caplog) -> dict[str, str]:
    places = {f"log record #{number} ({name})": text for number, (name, text) in enumerate(logs.records)}
    places["caplog"] = caplog.text
    places["json log"] = "\n".join(logs.json_lines)
    return places


def where(needle: str, places: dict[str, str]) -> list[str]:
    """Return the places whose text holds ``needle``."""
    return [label for label, text in places.items() if needle in text]


# --- The journey ------------------------------------------------------------------------------


@dataclass
class Created:
    key: ApiKey
    secret: str
    shown_in: str


@dataclass
class Journey:
    created: dict[str, Created] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    places: dict[str, str] = field(default_factory=dict)
    fixture_key: ApiKey | None = None
    fixture_secret: str = ""


def _created_by_response(journey, responses, label, response, *, status: int, name: str) -> None:
    assert response.status_code == status, response.content[:500]
    assert "no-store" in response["Cache-Control"], label  # nor kept by a browser or a proxy
    shown_in = [recorded for recorded in responses if recorded.startswith("response")][-1]
    _created(journey, label, responses[shown_in], name=name, shown_in=shown_in)


def _created(journey, label, text, *, name: str, shown_in: str) -> None:
    shown = set(SECRET_SHAPE.findall(text))
    assert len(shown) == 1, f"{label}: expected one secret in its creation output, found {len(shown)}"
    secret = shown.pop()
    key = ApiKey.objects.get(name=name)
    assert crypto.verify_secret(secret, key.secret_hash)
    journey.created[label] = Created(key=key, secret=secret, shown_in=shown_in)


def _ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:300])
    return response


@pytest.fixture
def journey(settings, logs, caplog, capsys, responses, environment, superuser, key_pair):
    """Create a key every way there is, use and change them, visit every page; return all that was seen.

    Keys are created, used and changed with DEBUG on, the pages visited with DEBUG off as in
    production; every SQL statement is logged throughout.
    """
    settings.DEBUG = True
    journey = Journey()
    env = environment.pk
    api = f"/api/v1/environments/{env}/"
    keys_api = f"{api}apikeys/"
    dashboard = f"/environments/{env}/"

    fixture_key, fixture_secret = key_pair
    by_key = APIClient()
    by_key.credentials(HTTP_AUTHORIZATION=basic_auth(fixture_key.access_key, fixture_secret))
    # People sign in through the forms, so their passwords travel as they would.
    by_session = APIClient()
    _ok(by_session.post("/api/auth/login/", {"username": "olivia", "password": PASSWORDS["olivia"]}), 302)
    web = Client()
    _ok(web.post("/accounts/login/", {"username": "olivia", "password": PASSWORDS["olivia"]}), 302)
    admin = Client()
    _ok(admin.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORDS["root"]}), 302)

    # 1. Create: one key through every path.
    _created_by_response(
        journey,
        responses,
        "the API with a key",
        by_key.post(keys_api, {"name": "by-key"}, format="json"),
        status=201,
        name="by-key",
    )
    _created_by_response(
        journey,
        responses,
        "the API with a session",
        by_session.post(keys_api, {"name": "by-session", "permission": "read-only"}, format="json"),
        status=201,
        name="by-session",
    )
    _created_by_response(
        journey,
        responses,
        "the browsable API",
        by_session.post(keys_api, {"name": "by-browsable-api"}, **HTML),
        status=201,
        name="by-browsable-api",
    )
    add_form = _ok(web.get(f"{dashboard}api/keys/add/")).content.decode()
    form_id = re.search(r'name="form_id" value="([^"]+)"', add_form).group(1)
    _created_by_response(
        journey,
        responses,
        "the dashboard",
        web.post(
            f"{dashboard}api/keys/add/",
            {
                "name": "by-dashboard",
                "description": "",
                "permission": "read-write",
                "expires": "never",
                "form_id": form_id,
            },
        ),
        status=200,
        name="by-dashboard",
    )
    _ok(admin.get("/admin/apikeys/apikey/add/"))
    _created_by_response(
        journey,
        responses,
        "the admin",
        admin.post(
            "/admin/apikeys/apikey/add/",
            {"environment": env, "name": "by-admin", "description": "", "permission": "read-write"},
        ),
        status=200,
        name="by-admin",
    )
    for label, options in (("createapikey", []), ("createapikey --json", ["--json"])):
        out, err = io.StringIO(), io.StringIO()
        name = "by-command-json" if options else "by-command"
        call_command("createapikey", "--environment", "production", "--name", name, *options, stdout=out, stderr=err)
        journey.places[f"{label} stdout"] = out.getvalue()
        journey.places[f"{label} stderr"] = err.getvalue()
        _created(journey, label, out.getvalue(), name=name, shown_in=f"{label} stdout")
    keys = {label: created.key for label, created in journey.created.items()}

    # 2. Use every new key, and fail once with a wrong secret.
    for created in journey.created.values():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic_auth(created.key.access_key, created.secret))
        _ok(client.get(api))
        _ok(client.get(f"{keys_api}{created.key.pk}/"))
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=basic_auth(keys["the admin"].access_key, crypto.generate_secret_key()))
    _ok(wrong.get(api), 401)

    # 3. Change them: edit, deactivate, activate, delete, through the API, the dashboard and the admin.
    by_dashboard, by_admin = keys["the dashboard"], keys["the admin"]
    _ok(by_key.patch(f"{keys_api}{keys['the API with a key'].pk}/", {"description": "edited"}, format="json"))
    _ok(by_key.post(f"{keys_api}{keys['the API with a key'].pk}/deactivate/"))
    _ok(by_key.post(f"{keys_api}{keys['the API with a key'].pk}/activate/"))
    _ok(web.post(f"{dashboard}api/keys/{by_dashboard.pk}/edit/", {"name": "by-dashboard", "description": "x"}), 302)
    _ok(web.post(f"{dashboard}api/keys/{by_dashboard.pk}/deactivate/"), 302)
    _ok(web.get(f"{dashboard}api/keys/{by_dashboard.pk}/delete/"))
    _ok(web.get(f"{dashboard}api/"))
    _ok(web.post(f"{dashboard}api/keys/{by_dashboard.pk}/activate/"), 302)
    admin_change = f"/admin/apikeys/apikey/{by_admin.pk}/change/"
    _ok(admin.post(admin_change, {"name": "by-admin", "description": "edited in the admin"}), 302)
    for action in ("deactivate_keys", "activate_keys"):
        _ok(admin.post("/admin/apikeys/apikey/", {"action": action, "_selected_action": [by_admin.pk]}), 302)
    browsable = keys["the browsable API"]
    _ok(by_session.post(f"{keys_api}{browsable.pk}/deactivate/"))
    _ok(by_session.delete(f"{keys_api}{browsable.pk}/"), 204)
    journey.deleted.add("the browsable API")

    # 4. Visit every page and endpoint: as a key, as a person (JSON and the browsable API's HTML,
    # whose forms are filled in from the key) and as the superuser.
    settings.DEBUG = False
    key_ids = [key.pk for key in ApiKey.objects.filter(environment=environment)]
    api_pages = [
        "/api/v1/",
        "/api/v1/environments/",
        api,
        keys_api,
        f"{keys_api}?state=inactive",
        f"{api}events/",
        *(f"{keys_api}{pk}/" for pk in key_ids),
    ]
    _ok(by_key.get("/api/v1/schema/"))
    for page in api_pages:
        _ok(by_key.get(page))
        _ok(by_session.get(page))
        _ok(by_session.get(page, **HTML))
    _ok(by_session.get(f"{api}members/"))
    _ok(by_key.get(f"{keys_api}{keys['the API with a key'].pk}/", **HTML))
    dashboard_pages = [
        "/",
        "/environments/",
        f"{dashboard}api/",
        f"{dashboard}api/?state=active",
        f"{dashboard}api/?state=inactive",
        f"{dashboard}events/",
        f"{dashboard}events/?action={AuditAction.APIKEY_CREATED}",
        f"{dashboard}members/",
        f"{dashboard}edit/",
        f"{dashboard}api/keys/add/",
        *(f"{dashboard}api/keys/{pk}/edit/" for pk in key_ids),
    ]
    for page in dashboard_pages:
        _ok(web.get(page, follow=page == "/"))
    admin_pages = [
        "/admin/",
        "/admin/apikeys/apikey/",
        f"/admin/apikeys/apikey/?q={by_admin.access_key}",
        "/admin/environments/environment/",
        f"/admin/environments/environment/{env}/change/",
        f"/admin/environments/environment/{env}/history/",
        "/admin/environments/membership/",
        "/admin/audit/auditevent/",
        "/admin/auth/user/",
        *(f"/admin/apikeys/apikey/{pk}/{page}/" for pk in key_ids for page in ("change", "history")),
        *(
            f"/admin/audit/auditevent/{pk}/change/"
            for pk in AuditEvent.objects.filter(action=AuditAction.APIKEY_CREATED).values_list("pk", flat=True)
        ),
    ]
    for page in admin_pages:
        _ok(admin.get(page))

    # 5. Everything at rest and everything said.
    journey.places.update(responses)
    journey.places.update(database_places())
    journey.places.update(cache_places())
    journey.places.update(log_places(logs, caplog))
    printed = capsys.readouterr()
    journey.places["printed output"] = printed.out + printed.err
    journey.fixture_key, journey.fixture_secret = fixture_key, fixture_secret
    return journey


def _kinds(labels) -> set[str]:
    """Return the kinds of the places ("response", "log record", "dumpdata", ...)."""
    return {re.sub(r" #\d+.*| [0-9a-z]{8}… decoded| '.*", "", label) for label in labels}


def test_each_secret_is_in_its_creation_response_and_nowhere_else(journey):
    places = journey.places
    assert len(journey.created) == 7
    for label, created in journey.created.items():
        assert where(created.secret, places) == [created.shown_in], f"secret of the key created by {label}"
        # Nor as the Basic credential it was sent in.
        assert where(credentials(created.key.access_key, created.secret), places) == [], label
    # The fixture's key was made by the service and only ever sent in a header: it is nowhere.
    assert where(journey.fixture_secret, places) == []
    assert where(credentials(journey.fixture_key.access_key, journey.fixture_secret), places) == []
    for username, password in PASSWORDS.items():
        assert where(password, places) == [], f"sign-in password of {username}"

    # Only the digest is stored; it and the name of its field never reach a response.
    responses = {label: text for label, text in places.items() if label.startswith(("response", "messages"))}
    for label, created in journey.created.items():
        digest = created.key.secret_hash
        assert digest.startswith("sha256$") and created.secret not in digest
        assert where(digest.partition("$")[2], responses) == [], label
    assert where("secret_hash", responses) == []

    # Controls: every kind of place was really read (a search of nothing finds nothing).
    for label, created in journey.created.items():
        found_access_key = _kinds(where(created.key.access_key, places))
        if label in journey.deleted:
            assert {"response", "log record", "audit events"} <= found_access_key, label
            continue
        assert {"response", "dumpdata", "table apikeys_apikey", "log record", "caplog", "audit events"} <= (
            found_access_key
        ), label
        # The JSON log names the key on the lines of the requests made with it.
        assert f'"access_key": "{created.key.access_key}"' in places["json log"], label
        # The digest is in the database and in the SQL log (the INSERT).
        assert {"dumpdata", "table apikeys_apikey", "log record", "caplog"} <= _kinds(
            where(created.key.secret_hash.partition("$")[2], places)
        ), label
    assert any(label.startswith("messages cookie") and "deactivated" in text for label, text in places.items())
    assert any(label.startswith("session") and "_auth_user_id" in text for label, text in places.items())
    assert any(label.startswith("cache") for label in places)
    if connection.vendor == "sqlite":
        assert 'INSERT INTO "apikeys_apikey"' in places["sqlite dump"]


def test_a_flood_of_wrong_secrets_leaves_none_of_them_in_the_logs_or_at_rest(logs, caplog, responses, key_pair, clock):
    # The clock stands still: the refusals fall in one minute, so in one audit summary row.
    key, _ = key_pair
    checked = crypto.generate_secret_key()  # well formed: the key is looked up and the secret compared
    unchecked = checked[:-1] + ("B" if checked.endswith("A") else "A")  # bad checksum: refused unread
    for_unknown_key = crypto.generate_secret_key()
    attempts = [
        (key.access_key, checked),
        (key.access_key, unchecked),
        (crypto.generate_access_key(), for_unknown_key),
        (checked, key.access_key),  # the two halves swapped
    ]
    client = APIClient()
    statuses = [
        client.get(f"/api/v1/environments/{key.environment_id}/", HTTP_AUTHORIZATION=basic_auth(*pair)).status_code
        for pair in attempts * 8
    ]
    assert set(statuses) == {401, 429}

    places = {**responses, **database_places(), **cache_places(), **log_places(logs, caplog)}
    for secret in (checked, unchecked, for_unknown_key):
        assert where(secret, places) == [], secret
    for pair in attempts:
        assert where(credentials(*pair), places) == [], pair
    # Controls: the refusals were logged, audited (by access key) and counted in the cache.
    assert where("Unauthorized: /api/v1/", places)
    refused = AuditEvent.objects.get(action=AuditAction.AUTH_REFUSED, target=key.access_key)
    assert refused.count > 1
    assert any(label.startswith("cache") for label in places)


# --- Error reports ----------------------------------------------------------------------------
#
# With DEBUG off, Django's error e-mails (``mail_admins``; the HTML part, when enabled, shows every
# frame's variables) go through the exception reporter filter. Variables holding a secret are
# hidden: the ones @sensitive_variables names, and any value shaped like a secret key.


@pytest.fixture
def generated(monkeypatch) -> list[str]:
    """Return the list of every secret key generated from now on."""
    secrets = []
    real = crypto.generate_secret_key

    def generate():
        secrets.append(real())
        return secrets[-1]

    monkeypatch.setattr(crypto, "generate_secret_key", generate)
    return secrets


@pytest.fixture
def django_filter(settings):
    """Use Django's own SafeExceptionReporterFilter (without the project's secret-key search)."""
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "django.views.debug.SafeExceptionReporterFilter"
    get_default_exception_reporter_filter.cache_clear()  # Django reads the setting once
    yield
    get_default_exception_reporter_filter.cache_clear()


@dataclass
class ErrorEmails:
    outbox: list
    reports: list[dict] = field(default_factory=list)

    def shown(self, function: str, variable: str) -> list[str]:
        """Return how the last report shows ``variable`` in each frame of ``function`` that has it."""
        shown = [dict(frame["vars"]) for frame in self.reports[-1]["frames"] if frame["function"] == function]
        return [variables[variable] for variables in shown if variable in variables]


@pytest.fixture
def error_emails(settings, monkeypatch, mailoutbox) -> ErrorEmails:
    """Send error e-mails to an admin, with the HTML report that shows every frame's variables."""
    settings.ADMINS = [("Operations", "ops@example.com")]
    [handler] = [handler for handler in logging.getLogger("django").handlers if isinstance(handler, AdminEmailHandler)]
    emails = ErrorEmails(outbox=mailoutbox)

    class Recording(handler.reporter_class):
        def get_traceback_data(self):
            data = super().get_traceback_data()
            emails.reports.append(data)
            return data

    monkeypatch.setattr(handler, "include_html", True)
    monkeypatch.setattr(handler, "reporter_class", Recording)
    return emails


def _report(request, failure) -> tuple[str, dict[str, dict[str, str]]]:
    """Return the HTML error report and, by function name, the variables each frame shows.

    The report starts below the test function, whose own variables hold the secret.
    """
    reporter = ExceptionReporter(request, failure.type, failure.value, failure.tb.tb_next)
    frames = {frame["function"]: dict(frame["vars"]) for frame in reporter.get_traceback_data()["frames"]}
    return reporter.get_traceback_html(), frames


HIDDEN = "'********************'"


def test_django_filter_hides_the_secret_in_a_traceback_from_inside_create_api_key(
    django_filter, monkeypatch, environment, generated
):
    def failing_record(**kwargs):
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(RuntimeError) as failure:
        services.create_api_key(environment=environment, name="reported")
    html, frames = _report(None, failure)

    assert frames["create_api_key"]["secret"] == HIDDEN
    assert frames["create_api_key"]["name"] == "'reported'"
    [secret] = generated
    assert secret not in html


def test_django_filter_hides_the_secret_and_the_header_in_a_traceback_of_key_authentication(
    django_filter, monkeypatch, key_pair
):
    key, secret = key_pair
    request = RequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))

    def failing_lookup(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(selectors, "key_for_authentication", failing_lookup)
    with pytest.raises(OperationalError) as failure:
        ApiKeyAuthentication().authenticate(request)
    html, frames = _report(request, failure)

    assert {name: frames["authenticate"][name] for name in ("header", "credentials", "secret")} == dict.fromkeys(
        ("header", "credentials", "secret"), HIDDEN
    )
    assert frames["authenticate_api_key"]["secret"] == HIDDEN
    assert frames["authenticate_api_key"]["access_key"] == repr(key.access_key)
    assert secret not in html
    assert credentials(key.access_key, secret) not in html


def _fail_rendering(monkeypatch, template_name: str) -> None:
    real = Template.render

    def render(self, context=None, request=None):
        if self.template.name == template_name:
            raise RuntimeError("the template is broken")
        return real(self, context, request)

    monkeypatch.setattr(Template, "render", render)


def _fail_json(monkeypatch) -> None:
    def dumps(*args, **kwargs):
        raise TypeError("cannot encode")

    monkeypatch.setattr("rest_framework.renderers.json.dumps", dumps)


@pytest.mark.parametrize(
    ("who", "page", "data", "breakage", "holder"),
    [
        pytest.param(
            "member",
            "/environments/{env}/api/keys/add/",
            {"name": "n", "permission": "read-write", "expires": "never"},
            lambda monkeypatch: _fail_rendering(monkeypatch, "apikeys/key_created.html"),
            ("render_to_string", "context"),
            id="dashboard",
        ),
        pytest.param(
            "superuser",
            "/admin/apikeys/apikey/add/",
            {"environment": "{env}", "name": "n", "permission": "read-write"},
            lambda monkeypatch: _fail_rendering(monkeypatch, "admin/apikeys/apikey/created.html"),
            ("rendered_content", "context"),
            id="admin",
        ),
        pytest.param(
            "member",
            "/api/v1/environments/{env}/apikeys/",
            {"name": "n"},
            _fail_json,
            ("render", "data"),
            id="api",
        ),
    ],
)
def test_the_error_email_of_a_creation_page_that_fails_to_render_hides_the_secret(
    request, monkeypatch, error_emails, environment, generated, who, page, data, breakage, holder
):
    """The frames that render the page hold the secret (a template context, the API's data): hidden."""
    client = Client(raise_request_exception=False)
    client.force_login(request.getfixturevalue(who))
    url = page.format(env=environment.pk)
    data = {name: value.format(env=environment.pk) for name, value in data.items()}
    if url.startswith("/environments/"):
        client.get(url)  # the add form hands out its one-time form id
        data["form_id"] = client.session["apikey_form_ids"][-1]
    breakage(monkeypatch)

    response = client.post(url, data)

    assert response.status_code == 500
    [secret] = generated
    assert secret not in response.content.decode()
    assert error_emails.shown(*holder) == [HIDDEN]
    [email] = error_emails.outbox
    [(html, _)] = email.alternatives
    assert secret not in email.body
    assert secret not in html


def test_the_error_email_of_a_failing_sign_in_hides_the_password(monkeypatch, error_emails, owner):
    def failing_lookup(self, username):
        # Not a database error: those are answered 503 without an error e-mail.
        raise RuntimeError("the user lookup failed")

    monkeypatch.setattr(BaseUserManager, "get_by_natural_key", failing_lookup)
    client = Client(raise_request_exception=False)

    response = client.post("/accounts/login/", {"username": "olivia", "password": PASSWORDS["olivia"]})

    assert response.status_code == 500
    # Ours and ModelBackend's authenticate(), and the form's clean() that Django marks itself.
    assert error_emails.shown("authenticate", "password") == [HIDDEN, HIDDEN]
    assert error_emails.shown("authenticate", "username") == ["'olivia'", "'olivia'"]
    [email] = error_emails.outbox
    [(html, _)] = email.alternatives
    assert PASSWORDS["olivia"] not in email.body
    assert PASSWORDS["olivia"] not in html
