"""Django settings for Chorus. Every value comes from the environment (see ``.env.example``)."""

from __future__ import annotations

import dj_database_url
from django.utils.translation import gettext_lazy as _

from chorus import config

BASE_DIR = config.PROJECT_DIR
VAR_DIR = config.var_dir()

SECRET_KEY = config.secret_key()
ENCRYPTION_KEYS = config.encryption_keys()
DEBUG = config.env_bool("DEBUG")
ALLOWED_HOSTS = config.env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = config.env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "chorus.orgs",
    "chorus.channels",
    "chorus.listening",
    "chorus.jobs",
    "chorus.publishing",
    "chorus.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chorus.urls"
WSGI_APPLICATION = "chorus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chorus.web.context.shell",
            ],
        },
    },
]

DATABASE_URL = config.env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'chorus.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on
        # busy_timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "chorus" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_URL = config.env("EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = config.env("DEFAULT_FROM_EMAIL", "chorus@localhost")
if EMAIL_URL.startswith("console:"):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_URL.startswith("memory:"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    from urllib.parse import unquote, urlsplit

    _email = urlsplit(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme in {"smtp+tls", "submission"}
    EMAIL_USE_SSL = _email.scheme == "smtps"

# The job queue (see chorus/jobs): a SQLite file by default, Redis when QUEUE_URL says so.
QUEUE_URL = config.env("QUEUE_URL") or f"sqlite:///{VAR_DIR / 'queue.sqlite3'}"
WORKER_SILENT_AFTER_SECONDS = 60
# How long a worker may hold a delivery mid-publish before the sweeper treats it as dead.
PUBLISH_LEASE_SECONDS = int(config.env("CHORUS_PUBLISH_LEASE_SECONDS", "120"))
# The wait before retrying a delivery after a transient failure; doubled at each attempt.
PUBLISH_FIRST_RETRY_SECONDS = int(config.env("CHORUS_PUBLISH_FIRST_RETRY_SECONDS", "30"))
# How many deliveries one worker process has in hand at once (network calls in flight). Each
# pool thread keeps a database connection: on PostgreSQL, workers x (this + 4) must stay under
# max_connections (100 by default, so 20 leaves room for four workers); SQLite's are free.
PUBLISH_CONCURRENCY = int(
    config.env("CHORUS_PUBLISH_CONCURRENCY", "32" if DATABASE_URL.startswith("sqlite") else "20")
)

# OAuth applications registered with the networks, for OAuth connections and token refresh:
# CHORUS_<NETWORK>_CLIENT_ID / _CLIENT_SECRET / _SCOPES (space-separated), e.g. CHORUS_X_CLIENT_ID.
OAUTH_APPS = {
    network: {
        "client_id": config.env(f"CHORUS_{network.upper()}_CLIENT_ID"),
        "client_secret": config.env(f"CHORUS_{network.upper()}_CLIENT_SECRET"),
        "scopes": config.env(f"CHORUS_{network.upper()}_SCOPES").split(),
    }
    for network in ("x", "linkedin", "facebook", "instagram", "threads", "youtube", "mastodon")
    if config.env(f"CHORUS_{network.upper()}_CLIENT_ID")
}

# Public base URL used in e-mails (invitations, password resets sent by jobs).
PUBLIC_URL = config.env("CHORUS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# How long a signed public link to a post's media file works (Instagram and Threads fetch
# media from such links when the post is published), in hours.
PUBLIC_MEDIA_LINK_HOURS = int(config.env("CHORUS_PUBLIC_MEDIA_LINK_HOURS", "24"))

# Bluesky OAuth: where handles and did:plc identifiers are resolved to find an account's PDS.
BLUESKY_HANDLE_RESOLVER_URL = config.env(
    "CHORUS_BLUESKY_HANDLE_RESOLVER_URL", "https://bsky.social"
)
BLUESKY_PLC_URL = config.env("CHORUS_BLUESKY_PLC_URL", "https://plc.directory")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.env("LOG_LEVEL", "INFO")},
    "loggers": {
        "huey": {"level": "WARNING"},
        "waitress": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
