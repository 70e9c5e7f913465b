"""Zegel's one settings module. Every value comes from the environment; see README.md."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from zegel.config import (
    ConfigError,
    env_bool,
    env_int,
    env_secret,
    env_str,
    parse_email_url,
    parse_size,
    parse_sms_url,
)

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("ZEGEL_DATA_DIR", "var")).resolve()
DEBUG = env_bool("ZEGEL_DEBUG", False)
# Demo mode: captured mail and SMS are shown at /dev/outbox. Never on in production.
DEMO = env_bool("ZEGEL_DEMO", False)


def _secret_key() -> str:
    key = env_secret("ZEGEL_SECRET_KEY")
    if key:
        return key
    # No key configured: keep a generated one in the data dir so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.touch(mode=0o600)
    path.write_text(key, encoding="utf-8")
    return key


SECRET_KEY = _secret_key()
BASE_URL = env_str("ZEGEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
if not BASE_URL.startswith(("http://", "https://")):
    raise ConfigError("ZEGEL_BASE_URL must start with http:// or https://")

_BASE_HOST = BASE_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
_LOCAL_HOSTS = ["127.0.0.1", "localhost"]
# In production the server answers to its public name only; the local names are for the demo,
# debugging and a base URL on this machine. A local health probe sends the public Host header
# or names its host in ZEGEL_ALLOWED_HOSTS.
ALLOWED_HOSTS = [h for h in env_str("ZEGEL_ALLOWED_HOSTS", "").split(",") if h] or [
    _BASE_HOST,
    *[h for h in _LOCAL_HOSTS if h != _BASE_HOST
      and (DEMO or DEBUG or _BASE_HOST in (*_LOCAL_HOSTS, "[::1]"))],
]
CSRF_TRUSTED_ORIGINS = [BASE_URL]


def _networks(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(n.strip()) for n in raw.split(",") if n.strip()]
    except ValueError as exc:
        raise ConfigError(f"ZEGEL_TRUSTED_PROXIES: {exc}") from None


# Reverse proxies whose X-Forwarded-For is believed for the audit log's "from where".
TRUSTED_PROXIES = _networks(env_str("ZEGEL_TRUSTED_PROXIES", ""))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "zegel.core",
    "zegel.orgs",
    "zegel.directory",
    "zegel.keystore",
    "zegel.audit",
    "zegel.messaging",
    "zegel.notify",
    "zegel.jobs",
    "zegel.portal",
    "zegel.sender",
    "zegel.dlp",
    "zegel.api",
    # Swagger UI as static files for /api/v1/docs (zegel.api.docs); no DRF needed.
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "zegel.core.middleware.SecurityHeadersMiddleware",
    "zegel.core.middleware.ApiProblemMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, with API clients answered in their Accept-Language, English by default.
    "zegel.core.middleware.LocaleMiddleware",
    "zegel.files.uploads.EncryptingUploadMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zegel.core.sessions.SessionLifetimeMiddleware",
    "zegel.orgs.middleware.TwoFactorPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "zegel.core.middleware.UploadRedirectMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "zegel.core.integrity.ContentIntegrityMiddleware",
]

ROOT_URLCONF = "zegel.urls"
WSGI_APPLICATION = "zegel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zegel.core.middleware.site_context",
                "zegel.orgs.roles.menu_context",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'zegel.sqlite3'}"
# Connections are kept between requests: a new PostgreSQL connection costs the database
# several milliseconds of CPU per request. Each web thread and each worker holds at most one
# (docs/operations.md, "Database connections"); a kept connection is checked before it is used
# again, so one the server or a proxy dropped is replaced instead of failing the request.
# ZEGEL_DB_CONN_MAX_AGE=0 opens a new one per request, as before.
DATABASES = {"default": dj_database_url.parse(
    env_secret("DATABASE_URL", _default_db),
    conn_max_age=env_int("ZEGEL_DB_CONN_MAX_AGE", 300),
    conn_health_checks=env_bool("ZEGEL_DB_HEALTH_CHECKS", True))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write at once: WAL, a busy timeout and IMMEDIATE transactions, or
    # writers fail with "database is locked" under load.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too, not shared-cache memory: the browser tests' server and worker
    # threads then wait on a busy database as production does, instead of failing at once.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = ["zegel.orgs.backends.EmailBackend"]
LOGIN_URL = "sender:login"
LOGIN_REDIRECT_URL = "sender:home"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
# NIST SP 800-63B: length by the organisation's second-factor policy, a list of common and
# breached passwords, context words, no composition rules (zegel.orgs.passwords).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "zegel.orgs.passwords.LengthValidator"},
    {"NAME": "zegel.orgs.passwords.CommonPasswordValidator"},
    {"NAME": "zegel.orgs.passwords.ContextWordsValidator"},
    {"NAME": "zegel.orgs.passwords.RepetitionValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("ZEGEL_TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Sessions: the sender app uses Django's login; the guest portal keeps its own keys in the same
# session store, bound to one recipient and conversation.
SECURE = BASE_URL.startswith("https://")
# On https the cookies carry the __Host- prefix: browsers then take them only when Secure, for
# Path=/ and without a Domain, so no other (sub)domain or plain-HTTP page can set or shadow them.
SESSION_COOKIE_NAME = "__Host-zegel_session" if SECURE else "zegel_session"
CSRF_COOKIE_NAME = "__Host-zegel_csrf" if SECURE else "csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sliding: a staff session ends after this long without a request...
SESSION_COOKIE_AGE = env_int("ZEGEL_SESSION_AGE", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
# ...and at the latest this long after login, however busy (zegel.core.sessions).
SESSION_MAX_AGE = env_int("ZEGEL_SESSION_MAX_AGE", 12 * 3600)
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_SSL_REDIRECT = env_bool("ZEGEL_SSL_REDIRECT", SECURE)
# The health check is asked over plain HTTP by load balancers on the inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS preload is a promise to browser vendors that cannot be taken back quickly: opt in only.
SECURE_HSTS_PRELOAD = env_bool("ZEGEL_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Uploads: files stream through zegel.files.uploads.EncryptingUploadMiddleware and are never
# buffered in memory or written in plaintext. Form fields stay small.
MAX_UPLOAD_SIZE = parse_size("ZEGEL_MAX_UPLOAD_SIZE", 2 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_NUMBER_FIELDS = 400
# Files per request. The encrypting upload handler refuses the next one with a clear 413 and
# keeps nothing; Django's own limit, one higher, is only a backstop it never reaches.
MAX_UPLOAD_FILES = env_int("ZEGEL_MAX_UPLOAD_FILES", 50)
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_UPLOAD_FILES + 1

BLOB_DIR = Path(env_str("ZEGEL_BLOB_DIR", str(DATA_DIR / "blobs"))).resolve()
KEYRING_FILE = env_str("ZEGEL_KEYRING_FILE", "")
KEYRING_DEFAULT = DATA_DIR / "keys" / "keyring.json"

EMAIL = parse_email_url(env_secret("ZEGEL_EMAIL_URL", "capture"))
SMS = parse_sms_url(env_secret("ZEGEL_SMS_URL", "capture"), allow_http=DEMO)
EMAIL_FROM = env_str("ZEGEL_EMAIL_FROM", "")  # default: noreply@<org domain>
EMAIL_BACKEND = (
    "zegel.notify.backends.CaptureEmailBackend"
    if EMAIL.backend == "capture"
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = EMAIL.host
EMAIL_PORT = EMAIL.port
EMAIL_HOST_USER = EMAIL.username
EMAIL_HOST_PASSWORD = EMAIL.password
EMAIL_USE_TLS = EMAIL.use_tls
EMAIL_USE_SSL = EMAIL.use_ssl
EMAIL_TIMEOUT = EMAIL.timeout
# The outbox's first retry waits this long, doubling on every failure up to an hour.
OUTBOX_RETRY_SECONDS = env_int("ZEGEL_OUTBOX_RETRY_SECONDS", 60)

# Codes and links.
CODE_TTL_SECONDS = 600
CODE_MAX_FAILURES = 5
CODE_RESEND_COOLDOWN_SECONDS = env_int("ZEGEL_CODE_RESEND_COOLDOWN", 30)
# Wrong codes (NIST SP 800-63B 5.2.2): after GUEST_THROTTLE_AFTER failures in a row each next
# try waits GUEST_THROTTLE_SECONDS, doubling per failure up to GUEST_THROTTLE_MAX_SECONDS; only
# after RECIPIENT_MAX_FAILURES does the recipient need the sender to let them in again.
GUEST_THROTTLE_AFTER = env_int("ZEGEL_GUEST_THROTTLE_AFTER", 3)
GUEST_THROTTLE_SECONDS = env_int("ZEGEL_GUEST_THROTTLE_SECONDS", 30)
GUEST_THROTTLE_MAX_SECONDS = env_int("ZEGEL_GUEST_THROTTLE_MAX_SECONDS", 3600)
RECIPIENT_MAX_FAILURES = env_int("ZEGEL_RECIPIENT_MAX_FAILURES", 50)
# What a code request may cost: per recipient (both channels), per phone number within an
# organisation and for the whole organisation per hour (SMS only; the admins get an alert).
CODES_PER_RECIPIENT_HOUR = env_int("ZEGEL_CODES_PER_RECIPIENT_HOUR", 10)
CODES_PER_RECIPIENT_DAY = env_int("ZEGEL_CODES_PER_RECIPIENT_DAY", 20)
SMS_PER_PHONE_DAY = env_int("ZEGEL_SMS_PER_PHONE_DAY", 30)
SMS_PER_ORGANISATION_HOUR = env_int("ZEGEL_SMS_PER_ORGANISATION_HOUR", 300)
# Verified guests: replies per conversation per hour, bytes uploaded per conversation, and at
# most one reply notice to the sender per conversation per window.
GUEST_REPLIES_PER_HOUR = env_int("ZEGEL_GUEST_REPLIES_PER_HOUR", 30)
GUEST_UPLOAD_BYTES_PER_CONVERSATION = parse_size("ZEGEL_GUEST_UPLOAD_LIMIT", 5 * 1024**3)
REPLY_NOTICE_WINDOW_SECONDS = env_int("ZEGEL_REPLY_NOTICE_WINDOW", 5 * 60)
PORTAL_IDLE_SECONDS = env_int("ZEGEL_PORTAL_IDLE_SECONDS", 15 * 60)
# Where JavaScript runs, the portal warns this long before the idle timeout ("stay signed in").
PORTAL_WARN_SECONDS = env_int("ZEGEL_PORTAL_WARN_SECONDS", 2 * 60)
# A reply posted after the session ended is kept, encrypted, this long for the recipient to
# verify again in the same browser; then the worker removes it.
PORTAL_HELD_REPLY_SECONDS = env_int("ZEGEL_PORTAL_HELD_REPLY_SECONDS", 30 * 60)
# "I don't have my access code" / "I did not get the SMS": at most one notice to the sender per
# recipient per cooldown, a few per recipient per day, and a cap per client address per day
# within an organisation (across its recipients). 0 switches the cap per client off.
HELP_REQUEST_COOLDOWN_SECONDS = env_int("ZEGEL_HELP_REQUEST_COOLDOWN", 15 * 60)
HELP_REQUESTS_PER_RECIPIENT_DAY = env_int("ZEGEL_HELP_REQUESTS_PER_RECIPIENT_DAY", 3)
HELP_REQUESTS_PER_CLIENT_DAY = env_int("ZEGEL_HELP_REQUESTS_PER_CLIENT_DAY", 10)
# The portal's "remember this browser" cookie (path /m/; the secret's hash is in the database).
REMEMBER_COOKIE_NAME = "__Secure-zegel_remember" if SECURE else "zegel_remember"
# The recipient's own copy of a message (.eml) holds its files up to this many bytes in all
# (before encoding); larger ones are listed in it, to download separately. The files are
# streamed into it, so this is about what mail programs open well, not memory.
OWN_COPY_EML_MAX_SIZE = parse_size("ZEGEL_OWN_COPY_EML_MAX_SIZE", 100 * 1024**2)

# Staff log-in throttle (zegel.orgs.backends): failures counted over the window, per typed
# address, per client address and over the whole installation. 0 switches a limit off.
LOGIN_FAILURE_WINDOW = env_int("ZEGEL_LOGIN_FAILURE_WINDOW", 15 * 60)
LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("ZEGEL_LOGIN_MAX_FAILURES_PER_ACCOUNT", 10)
LOGIN_MAX_FAILURES_PER_IP = env_int("ZEGEL_LOGIN_MAX_FAILURES_PER_IP", 50)
LOGIN_MAX_FAILURES_GLOBAL = env_int("ZEGEL_LOGIN_MAX_FAILURES_GLOBAL", 1000)
# API requests per token per fixed window (zegel.orgs.api_rate). 0 switches the limit off.
API_RATE_LIMIT = env_int("ZEGEL_API_RATE_LIMIT", 600)
API_RATE_WINDOW = env_int("ZEGEL_API_RATE_WINDOW", 60)
# The compose page's recipient suggestions per staff user per minute
# (zegel.sender.recipient_suggestions), counted in Django's cache. 0 switches the limit off.
RECIPIENT_LOOKUP_RATE_LIMIT = env_int("ZEGEL_RECIPIENT_LOOKUP_RATE_LIMIT", 120)
# "Forgot password" (zegel.orgs.backends.claim_reset_request): requests per typed address and
# per client address, and reset e-mails on the whole installation, over the window.
RESET_WINDOW = env_int("ZEGEL_RESET_WINDOW", 3600)
RESET_MAX_PER_ADDRESS = env_int("ZEGEL_RESET_MAX_PER_ADDRESS", 3)
RESET_MAX_PER_IP = env_int("ZEGEL_RESET_MAX_PER_IP", 10)
RESET_MAX_MAILS_GLOBAL = env_int("ZEGEL_RESET_MAX_MAILS_GLOBAL", 200)
if RESET_WINDOW == 0:
    raise ConfigError("ZEGEL_RESET_WINDOW must be at least 1")
if LOGIN_FAILURE_WINDOW == 0 or API_RATE_WINDOW == 0:
    raise ConfigError("ZEGEL_LOGIN_FAILURE_WINDOW and ZEGEL_API_RATE_WINDOW must be at least 1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "zegel.core.logfilter.RedactTokens"},
                "library_text": {"()": "zegel.core.logfilter.DropLibraryText"}},
    "handlers": {"stderr": {"class": "zegel.core.logfilter.StderrHandler", "formatter": "plain",
                            "filters": ["library_text", "redact"]}},
    "root": {"handlers": ["stderr"], "level": env_str("ZEGEL_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request logs carry URLs, and portal URLs carry link tokens: keep them out.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        # Writing a PDF logs each step of subsetting its fonts at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
# Warnings go to the "py.warnings" logger, so the extraction libraries' warnings pass the same
# filters as their log records.
logging.captureWarnings(True)
