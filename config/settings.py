"""Settings for envkeys: every value comes from the environment (or an optional .env file)."""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (put it in the environment or in .env).")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL of this server, used where there is no request to build absolute URLs from
# (management commands print the environment's endpoint with it).
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

# Access control: when false, the API and dashboard are open to anyone who can reach the server.
ACCESS_CONTROL = env.bool("ACCESS_CONTROL", default=True)

# How many reverse proxies in front of the app append to X-Forwarded-For (0: trust none of it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# How often a key's last-used time is written, at most (seconds).
APIKEY_LAST_USED_INTERVAL = env.int("APIKEY_LAST_USED_INTERVAL", default=60)

# --- Applications -----------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "common.audit",
    "environments",
    "apikeys",
]

MIDDLEWARE = [
    # First: the request id, request metrics and the request log line cover every other middleware.
    "common.requestlog.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body: 411 for a chunked body, 413 for one over the size limit.
    "common.request_bodies.RequestBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "environments.context_processors.dashboard",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A kept connection is checked before a request reuses it, so a restarted database server costs
# no failed request.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails the request (503) after this many seconds instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while a writer commits; the timeout bounds how long a writer waits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 5,
            # Take the write lock when a transaction starts, so read-check-write services serialise.
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters live in this cache: with more than one worker or machine, point it at Redis
# (redis://host:6379/0) so that every process counts the same attempts.
CACHE_URL = env.str("CACHE_URL", default="locmemcache://envkeys")
_REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
# django-environ maps redis:// to django-redis whenever that package happens to be installed;
# always use Django's own Redis backend.
_is_redis = CACHE_URL.startswith(("redis://", "rediss://"))
CACHES = {"default": environ.Env.cache_url_config(CACHE_URL, backend=_REDIS_CACHE if _is_redis else None)}
if _is_redis:
    # django-environ lower-cases ?key_prefix=/?timeout= for this backend, where Django ignores them.
    for _name in ("key_prefix", "timeout", "version"):
        if _name in CACHES["default"]:
            CACHES["default"][_name.upper()] = CACHES["default"].pop(_name)
    # A stopped or hung Redis costs a request at most about this long (seconds): the counters then
    # fail open (common.counters), so a Redis outage costs only the counting.
    _socket_timeout = env.float("CACHE_SOCKET_TIMEOUT", default=0.1)
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": _socket_timeout,
        "socket_timeout": _socket_timeout,
        **CACHES["default"].get("OPTIONS", {}),
    }

# Faults and edges: what a frozen database, a cache outage and unreadable bodies cost.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check of a kept connection that gives up after 1 s: a server
    # that accepts TCP and never answers is then answered 503 whatever the connection's age.
    DATABASES["default"]["ENGINE"] = "common.postgresql"
# After a cache error, each process counts nothing for this many seconds before it tries the cache
# again (common.counters): a hung Redis then costs one request per interval one socket timeout.
CACHE_RETRY_INTERVAL = env.float("CACHE_RETRY_INTERVAL", default=5.0)
# No file uploads anywhere: a multipart body's file part is refused (400) before it is read. The
# browsable API's forms still post multipart, with fields only.
DATA_UPLOAD_MAX_NUMBER_FILES = 0

# --- Operations: probes and metrics (issue 12) ---------------------------------------------------
# /healthz, /readyz and /metrics: see docs/deployment.md. PROMETHEUS_MULTIPROC_DIR (read by
# prometheus_client itself) is set up by config/gunicorn.py.

# How long /readyz waits for the database to answer SELECT 1 on a fresh connection (seconds).
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2.0)
# Who may read /metrics: client addresses or networks (default loopback only)...
METRICS_ALLOWED_ADDRESSES = [
    address.strip()
    for address in env.list("METRICS_ALLOWED_ADDRESSES", default=["127.0.0.1", "::1"])
    if address.strip()
]
for _address in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_address, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {_address!r} is not an address or network.") from None
# ...or anyone sending "Authorization: Bearer <token>" (empty: no token). Everyone else gets 404.
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
# How long the counts of keys by state are kept between scrapes (seconds).
METRICS_KEY_COUNTS_SECONDS = env.int("METRICS_KEY_COUNTS_SECONDS", default=60)
# The probes and /metrics are answered over plain HTTP even with SECURE_SSL_REDIRECT on.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Production / HTTPS -----------------------------------------------------------------------
# SECRET_KEY (required when DEBUG is off), DEBUG and ALLOWED_HOSTS are read under "Core" above.
# The defaults suit `make run` on plain http://127.0.0.1; production.env.example lists the values
# for a deployment behind HTTPS, with which `manage.py check --deploy` reports no issues.

# Redirect plain-HTTP requests to HTTPS.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Send the session and CSRF cookies over HTTPS only.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# HTTP Strict Transport Security: how long browsers must use HTTPS only (0: no HSTS header).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a TLS-terminating proxy: the header and value by which it says the client used HTTPS,
# e.g. "HTTP_X_FORWARDED_PROTO,https". Set it only if the proxy always sets that header itself.
SECURE_PROXY_SSL_HEADER = env.tuple("SECURE_PROXY_SSL_HEADER", default=None)
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be HEADER,VALUE, e.g. HTTP_X_FORWARDED_PROTO,https.")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The largest request body accepted (bytes): the biggest valid API payload is a few KB, so this
# refuses (413) bodies that could only be abuse before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

# --- Authentication ---------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = ["environments.backends.ThrottledModelBackend"]

# Brute-force limits: how many failures are allowed per fixed window, as "<count>/<period>"
# ("10/min", "5/15m", "100/hour"); an empty value turns a limit off. Over a limit the API answers
# 429 with Retry-After and checks no secret; the sign-in page says when to try again.
# API keys: failures from one client address (an IPv6 /64 counts as one address)...
AUTH_FAILURE_RATE_PER_ADDRESS = env.str("AUTH_FAILURE_RATE_PER_ADDRESS", default="60/min")
# ...and failures with one access key, which then refuses it to the addresses that failed with it.
AUTH_FAILURE_RATE_PER_KEY = env.str("AUTH_FAILURE_RATE_PER_KEY", default="10/min")
# Dashboard sign-in: failures from one address, and for one username from one address.
SIGNIN_FAILURE_RATE_PER_ADDRESS = env.str("SIGNIN_FAILURE_RATE_PER_ADDRESS", default="30/15m")
SIGNIN_FAILURE_RATE_PER_USERNAME = env.str("SIGNIN_FAILURE_RATE_PER_USERNAME", default="5/15m")

# --- Identity providers: sign-in through LDAP and OpenID Connect, groups mapped to roles ---
# How long a dashboard session lasts (seconds) from sign-in, whatever the activity: roles from
# provider groups are recomputed at each sign-in, so this bounds how long someone removed from a
# group keeps its role.
SESSION_COOKIE_AGE = env.int("SESSION_LIFETIME", default=12 * 3600)

# Local accounts (a username and password kept by envkeys): false lets only superusers sign in
# with one, so that people come through the identity provider and an administrator can still get
# in when it is down.
LOCAL_ACCOUNTS = env.bool("LOCAL_ACCOUNTS", default=True)

# LDAP / Active Directory (django-auth-ldap, the `ldap` extra). Off unless LDAP_SERVER_URI is set.
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")
# "groupOfNames": search LDAP_GROUP_SEARCH_BASE for groupOfNames entries listing the user as
# member (OpenLDAP); "activeDirectory": the same with Active Directory's group entries;
# "memberOf": the CNs of the user's memberOf attribute (Active Directory, or OpenLDAP's memberof overlay).
LDAP_GROUP_TYPE = env.str("LDAP_GROUP_TYPE", default="groupOfNames")
if LDAP_GROUP_TYPE not in {"groupOfNames", "activeDirectory", "memberOf"}:
    raise ImproperlyConfigured("LDAP_GROUP_TYPE must be groupOfNames, activeDirectory or memberOf.")
if LDAP_SERVER_URI:
    import ldap
    from django_auth_ldap.config import ActiveDirectoryGroupType, GroupOfNamesType, LDAPSearch

    AUTH_LDAP_SERVER_URI = LDAP_SERVER_URI
    # A service account that may search for people and groups (empty: anonymous search).
    AUTH_LDAP_BIND_DN = env.str("LDAP_BIND_DN", default="")
    AUTH_LDAP_BIND_PASSWORD = env.str("LDAP_BIND_PASSWORD", default="")
    AUTH_LDAP_START_TLS = env.bool("LDAP_START_TLS", default=False)
    AUTH_LDAP_USER_SEARCH = LDAPSearch(
        env.str("LDAP_USER_SEARCH_BASE"),
        ldap.SCOPE_SUBTREE,
        # %(user)s is the username typed on the sign-in page; Active Directory: (sAMAccountName=%(user)s).
        env.str("LDAP_USER_FILTER", default="(uid=%(user)s)"),
        ["*", "memberOf"] if LDAP_GROUP_TYPE == "memberOf" else None,
    )
    AUTH_LDAP_USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn", "email": "mail"}
    if LDAP_GROUP_TYPE != "memberOf":
        AUTH_LDAP_GROUP_SEARCH = LDAPSearch(
            env.str("LDAP_GROUP_SEARCH_BASE"),
            ldap.SCOPE_SUBTREE,
            env.str(
                "LDAP_GROUP_FILTER",
                default="(objectClass=group)" if LDAP_GROUP_TYPE == "activeDirectory" else "(objectClass=groupOfNames)",
            ),
        )
        AUTH_LDAP_GROUP_TYPE = (
            ActiveDirectoryGroupType() if LDAP_GROUP_TYPE == "activeDirectory" else GroupOfNamesType()
        )
    # An unreachable directory fails a sign-in after this many seconds instead of holding it.
    _ldap_timeout = env.float("LDAP_TIMEOUT", default=5.0)
    AUTH_LDAP_CONNECTION_OPTIONS = {ldap.OPT_NETWORK_TIMEOUT: _ldap_timeout, ldap.OPT_TIMEOUT: _ldap_timeout}
    if env.str("LDAP_CA_CERT_FILE", default=""):
        AUTH_LDAP_GLOBAL_OPTIONS = {ldap.OPT_X_TLS_CACERTFILE: env.str("LDAP_CA_CERT_FILE")}
    AUTHENTICATION_BACKENDS = ["environments.ldap_backend.ThrottledLDAPBackend", *AUTHENTICATION_BACKENDS]

# OpenID Connect (mozilla-django-oidc): authorization code flow with PKCE, endpoints discovered
# from the issuer. Off unless OIDC_ISSUER is set. The redirect URI to register at the provider is
# PUBLIC_URL + /oidc/callback/.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGORITHM", default="RS256")
# The claim that names the person (their envkeys username) and the one that lists their groups.
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# The sign-in page's button reads "Sign in with <label>".
OIDC_BUTTON_LABEL = env.str("OIDC_BUTTON_LABEL", default="single sign-on")
# Seconds to wait for the provider before saying it cannot be reached.
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=5.0)
OIDC_USE_PKCE = True
OIDC_CREATE_USER = True
LOGIN_REDIRECT_URL_FAILURE = "login"
if OIDC_ISSUER:
    AUTHENTICATION_BACKENDS = ["environments.oidc.GroupsOIDCBackend", *AUTHENTICATION_BACKENDS]

CSRF_FAILURE_VIEW = "common.api.errors.csrf_failure"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation and static files ----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a request without credentials is answered 401 with a Basic challenge.
        "apikeys.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["common.access.PassesAccessControl"],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "common.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "envkeys API",
    "DESCRIPTION": (
        "Every environment has its own endpoint. Authenticate with an environment API key using "
        "HTTP Basic: the access key is the username, the secret key the password."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Logging and error reports ----------------------------------------------------------------

# "text" (the default) or "json": one JSON object per line (common.requestlog.JsonFormatter).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
# One INFO line per answered request (logger envkeys.request), probes and /metrics excepted.
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "common.requestlog.RequestContextFilter"},
        "quiet_probes": {"()": "common.requestlog.QuietProbesFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "common.requestlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django logs every 4xx answer as a warning: a flood of bad credentials would flood the log.
    # Refused authentications are summarised in the audit log instead; 5xx are still logged.
    "loggers": {
        "django.request": {"level": env.str("LOG_LEVEL_REQUESTS", default="ERROR"), "filters": ["quiet_probes"]},
    },
}

# Error reports (the e-mails to ADMINS, with DEBUG off) hide secret keys as well as what Django hides.
DEFAULT_EXCEPTION_REPORTER_FILTER = "apikeys.error_reports.SecretKeyHidingFilter"
