"""Roll-call settings: one module, driven by environment variables.

With nothing set it runs the embedded demo: SQLite, the in-memory channel
layer, DEBUG on. DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and
DEBUG=0 select production. See README.md for the full table.
"""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.env import envbool, envint, envlist, envstr, host_port, network_list, redis_url_options

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", True)

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-demo-key-only-for-the-embedded-default"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts; '*' is refused.")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "attendance",
    "payments",
    "timetable",
    "analytics",
    "realtime",
    "accounts",
    "api",
    "portal",
    "demo",
    "outbox",
    "excuses",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.HtmxLoginRedirectMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    # Admin's filters and selections with values it cannot read: a message, not a 500.
    "accounts.admin_input.AdminBadInputMiddleware",
    # A student's login opens only the students' pages (accounts/student_pages.py).
    "accounts.student_pages.StudentPagesMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
                "payments.context_processors.currency",
                "accounts.context_processors.session_timeout",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL")
# Each server process keeps a pool of PostgreSQL connections (psycopg_pool): a
# device's join borrows one for a few milliseconds instead of opening its own
# (about 47 ms here). Device sockets run their database calls on
# DB_POOL_MAX_SIZE threads (realtime/db.py), one connection each; the count
# publishers' threads and the pages queue for the next free one. Django hands a pooled
# connection back where it would otherwise close it, so CONN_MAX_AGE stays 0
# (the pool refuses persistent connections).
DB_POOL_MIN_SIZE = envint("DB_POOL_MIN_SIZE", 2, minimum=0)
DB_POOL_MAX_SIZE = envint("DB_POOL_MAX_SIZE", 10, minimum=1)
if DB_POOL_MAX_SIZE < DB_POOL_MIN_SIZE:
    raise ImproperlyConfigured(
        f"DB_POOL_MAX_SIZE={DB_POOL_MAX_SIZE} must be at least DB_POOL_MIN_SIZE={DB_POOL_MIN_SIZE}."
    )
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {exc}") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            # Seconds a borrower waits for a free connection before an error
            # (while the database is away, a device's join is told to retry).
            "timeout": envint("DB_POOL_TIMEOUT", 10, minimum=1),
        }
        # The pool checks a connection before lending it (an empty query): after
        # PostgreSQL restarts, its dead connections are replaced instead of
        # failing the next requests, sockets and sweeps with "consuming input failed".
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        # A new connection to a server that does not answer gives up (libpq's default
        # waits as long as TCP does).
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL and a busy timeout let the web process and the sweeper
                # share the demo database without "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and cache ---------------------------------------------------------
REDIS_URL = envstr("REDIS_URL")
CHANNEL_LAYER = envstr("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in {"pubsub", "core"}:
    raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER!r}: use 'pubsub' or 'core'.")
# redis-py's 5 s default socket timeout equals channels-redis' blocking read and
# kills idle consumers ("Timeout reading"); the default pool of 100 connections
# is exhausted by a mass disconnect (MaxConnectionsError).
REDIS_SOCKET_TIMEOUT = envint("REDIS_SOCKET_TIMEOUT", 60, minimum=10)
REDIS_MAX_CONNECTIONS = envint("REDIS_MAX_CONNECTIONS", 2000, minimum=100)
# Redis pub/sub ignores database numbers, so deployments (and test runs) that
# share one Redis keep apart by prefix.
CHANNEL_LAYER_PREFIX = envstr("CHANNEL_LAYER_PREFIX", "rollcall")


# Redis Sentinel: the master is whichever Redis the sentinels name, found again
# after a failover. REDIS_URL still gives the database number and password.
REDIS_SENTINELS = [host_port("REDIS_SENTINELS", item) for item in envlist("REDIS_SENTINELS", [])]
REDIS_SENTINEL_MASTER = envstr("REDIS_SENTINEL_MASTER", "mymaster")
if REDIS_SENTINELS and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_SENTINELS needs REDIS_URL too (redis://:password@sentinel/0): its database "
        "number and password are used, its host is replaced by the sentinels' master."
    )
SENTINEL_KWARGS = {"socket_timeout": 5, "socket_connect_timeout": 5}


def redis_channel_layer(url: str, *, prefix: str = "rollcall") -> dict:
    host = {
        "address": url,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": 5,
        "max_connections": REDIS_MAX_CONNECTIONS,
        "health_check_interval": 30,
    }
    if REDIS_SENTINELS:
        options = redis_url_options(url)
        del host["address"]
        host.update(
            sentinels=REDIS_SENTINELS,
            master_name=REDIS_SENTINEL_MASTER,
            sentinel_kwargs=SENTINEL_KWARGS,
            db=options.get("db", 0),
            password=options.get("password"),
        )
    if CHANNEL_LAYER == "pubsub":
        return {
            # channels-redis' pub/sub layer, made to come back after a Redis restart.
            "BACKEND": "realtime.layer.ResilientPubSubChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix},
        }
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [host],
            "prefix": prefix,
            "capacity": 1000,
            "expiry": 30,
            "group_expiry": 86400,
        },
    }


if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://."
    )
if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, prefix=CHANNEL_LAYER_PREFIX)}
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "rollcall",
            # Fail fast while Redis restarts (redis-py retries 10 times by
            # default, seconds per call): callers degrade (attendance/counters.py).
            # A Redis that hangs (stopped, a full network buffer) fails a call after
            # socket_timeout instead of holding the page or the socket as long as it hangs.
            "OPTIONS": {
                "retry": Retry(NoBackoff(), 1),
                "socket_connect_timeout": 2,
                "socket_timeout": 2,
            },
        }
    }
    if REDIS_SENTINELS:
        CACHES["default"]["OPTIONS"] = {
            "sentinels": REDIS_SENTINELS,
            "master_name": REDIS_SENTINEL_MASTER,
            "sentinel_kwargs": SENTINEL_KWARGS,
        }
    # cached_db, serving from the database alone while Redis is away (accounts/session_store.py).
    SESSION_ENGINE = "accounts.session_store"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Web sessions (the old system's outage came from saving on every request) ----
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_AGE = 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Auth ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in, roles and imports (accounts/) ---------------------------------------
# argon2 first: a password stored with an older hasher is rehashed at its next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes first: it refuses a locked-out username or address before any password check.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.SignInCodeBackend",
]
# "Remember me" keeps the session (and a persistent cookie) this many days.
SESSION_REMEMBER_DAYS = envint("SESSION_REMEMBER_DAYS", 14, minimum=1)
# The timeout banner shows this many seconds before the session ends.
SESSION_WARNING_SECONDS = envint("SESSION_WARNING_SECONDS", 300, minimum=10)
# A signed-in session's "last active" is written at most this often (never per request).
SESSION_ACTIVITY_SECONDS = envint("SESSION_ACTIVITY_SECONDS", 300, minimum=1)
# Lockout: this many failed sign-ins per username, and per address, lock it for the cool-off.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_COOLOFF_MINUTES = envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = LOGIN_COOLOFF_MINUTES / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
# Invitation links and one-time sign-in codes run out after these.
INVITATION_DAYS = envint("INVITATION_DAYS", 7, minimum=1)
SIGN_IN_CODE_DAYS = envint("SIGN_IN_CODE_DAYS", 14, minimum=1)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for a day
# The site's address, for links in mail sent from commands (invitations from import_school).
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")
# Bulk imports (manage.py import_school, admin): larger files are refused whole.
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 50_000, minimum=1)

# --- Time -------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True  # timestamps are stored in UTC
# The school's own zone: a session's date is the local date here.
TIME_ZONE = envstr("TIME_ZONE", "UTC")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE={TIME_ZONE!r} is not a time zone name such as 'Africa/Lagos'."
    ) from None

# --- Static files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploaded files ------------------------------------------------------------------
# Excuse attachments live here. Nothing under it has a public URL: every file is
# served by a view that checks who asks (excuses/views.py). Several web processes
# must share it (docker-compose mounts one volume).
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = ""

# --- Security (production) ------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    # Only the sign-in paths (accounts/api.py) name a scope; nothing else is throttled.
    "DEFAULT_THROTTLE_RATES": {"sign-in": envstr("API_SIGN_IN_RATE", "10/min")},
    # Throttle by REMOTE_ADDR, which daphne --proxy-headers sets from what nginx
    # forwards. Left unset, DRF would read X-Forwarded-For as the client sent it,
    # and a new made-up address each time would never be throttled.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Roll-call API",
    "DESCRIPTION": "Class sessions, registers, devices and school fees.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page is served from vendored files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# --- Attendance rules ---------------------------------------------------------------------
ATTENDANCE_SESSION_MAX_HOURS = envint("ATTENDANCE_SESSION_MAX_HOURS", 4, minimum=1)
ATTENDANCE_LATE_AFTER_MINUTES = envint("ATTENDANCE_LATE_AFTER_MINUTES", 10, minimum=0)
ATTENDANCE_CODE_ROTATE_SECONDS = envint("ATTENDANCE_CODE_ROTATE_SECONDS", 30, minimum=0)
ATTENDANCE_HEARTBEAT_SECONDS = envint("ATTENDANCE_HEARTBEAT_SECONDS", 20, minimum=1)
ATTENDANCE_MAX_DEVICES_PER_STUDENT = envint("ATTENDANCE_MAX_DEVICES_PER_STUDENT", 2, minimum=1)
# The embedded demo sweeps expired sessions and silent devices in-process.
ATTENDANCE_SWEEP_SECONDS = envint("ATTENDANCE_SWEEP_SECONDS", 60, minimum=0)
ATTENDANCE_IN_PROCESS_SWEEP = envbool("ATTENDANCE_IN_PROCESS_SWEEP", not REDIS_URL)
# Called (by dotted path) inside every register write with the course and the students
# whose records changed (attendance/hooks.py): apps above attendance keep what they
# derive from registers in step, without attendance importing them.
ATTENDANCE_REGISTER_HOOKS = ["reports.standings.register_changed"]

# --- Excuse requests ----------------------------------------------------------------------
# A student may ask to excuse an absence or a late mark this many days after the
# session's date (that day included); later requests are refused.
EXCUSE_WINDOW_DAYS = envint("EXCUSE_WINDOW_DAYS", 14, minimum=0)
# Attachments (PDF, JPEG or PNG, judged by their first bytes) up to this size.
EXCUSE_ATTACHMENT_MAX_BYTES = envint("EXCUSE_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)

# --- Mail -------------------------------------------------------------------------------
# Everything Django sends (password resets, invitations, warnings) is written to
# the outbox table in the transaction of the change that causes it; the sweeper
# sends it with the backend EMAIL_URL names (outbox/delivery.py).
EMAIL_BACKEND = "outbox.backends.OutboxBackend"
EMAIL_URL = envstr("EMAIL_URL", "console://")
try:
    _email = dj_email_url.parse(EMAIL_URL)
except ValueError:
    _email = {}
if "EMAIL_BACKEND" not in _email:
    raise ImproperlyConfigured(
        f"EMAIL_URL={EMAIL_URL!r} is not a mail URL: use submission://user:pass@host:587 "
        "(STARTTLS), smtp://host:25, smtp://user:pass@host:465?ssl=1, console:// or dummy://."
    )
OUTBOX_DELIVERY_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email["EMAIL_USE_TLS"])
EMAIL_USE_SSL = bool(_email["EMAIL_USE_SSL"])
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT") or 30
if _email.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Roll-call <rollcall@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A mail that fails this many times is marked failed for an admin to send again.
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", 8, minimum=1)

# --- The sweep ----------------------------------------------------------------------------
# Each sweep (cleanup_sessions --loop, or the demo's in-process thread) ends
# expired sessions and then runs these jobs: callables taking `now` and
# returning counts of what they did.
SWEEP_JOBS = [
    "timetable.sweep.sweep_job",
    "outbox.delivery.sweep_job",
    "accounts.sessions.sweep_job",
    "accounts.session_store.sweep_job",
]

# --- Timetable ----------------------------------------------------------------------------
# The sweep opens a timetabled class's session this many minutes before it
# starts, and ends it (writing the register) this many minutes after it ends.
TIMETABLE_OPEN_LEAD_MINUTES = envint("TIMETABLE_OPEN_LEAD_MINUTES", 5, minimum=0)
TIMETABLE_END_GRACE_MINUTES = envint("TIMETABLE_END_GRACE_MINUTES", 5, minimum=0)

# --- Fees -------------------------------------------------------------------------------
CURRENCY = envstr("CURRENCY", "USD")
# Printed at the top of every receipt.
SCHOOL_NAME = envstr("SCHOOL_NAME", "Roll-call School")

# --- Logging ----------------------------------------------------------------------------------
LOG_DIR = Path(envstr("LOG_DIR", str(BASE_DIR / "logs")))
LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
LOG_DIR.mkdir(parents=True, exist_ok=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(LOG_DIR / "rollcall.log"),
            "maxBytes": 5 * 1024 * 1024,
            "backupCount": 5,
            "formatter": "plain",
            "delay": True,
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": LOG_LEVEL},
        "django.security.SessionInterrupted": {"level": "WARNING"},
        "rollcall.sessions": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# --- Operations: probes, metrics, the public address, CSP -------------------------------------
INSTALLED_APPS += ["ops"]
# Probes first (no session, sign-in, CSRF or Host check: ops/views.py); django-prometheus
# times each request around everything else, labelled by view.
MIDDLEWARE = [
    "ops.middleware.probes",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# /metrics answers these networks, or a request with `Authorization: Bearer METRICS_TOKEN`.
METRICS_ALLOWED_NETWORKS = network_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = envstr("METRICS_TOKEN")
# The sweeper's /metrics server (cleanup_sessions --metrics-port), named by path so the
# command does not import the app above it.
METRICS_EXPORTER = "ops.exporter.start"
# The address phones open from the QR codes; unset, the page's own host is used.
PUBLIC_URL = envstr("PUBLIC_URL").rstrip("/")
if PUBLIC_URL and not PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"PUBLIC_URL={PUBLIC_URL!r} must start with http:// or https:// (http://192.168.1.20:8000)."
    )
# No inline script or style anywhere: every page's JavaScript and CSS are static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# A refused request (PermissionDenied, a Host not in ALLOWED_HOSTS) is one warning line.
LOGGING["filters"] = {"one_line_refusals": {"()": "config.logfilters.OneLineRefusals"}}
for _name in ("django.request", "django.security.DisallowedHost"):
    LOGGING["loggers"].setdefault(_name, {}).setdefault("filters", []).append("one_line_refusals")
