"""Django settings, read from environment variables.

Every variable is listed in .env.example. With nothing set, the product
runs on its embedded defaults: a private PostgreSQL and Redis under
DATA_DIR, the offline engine and billing switched off.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from config import embedded
from config.env import (
    ConfigurationError,
    database_from_url,
    load_env_file,
    read_bool,
    read_hostname,
    read_int,
    read_optional,
    read_str,
    read_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_env_file(BASE_DIR / ".env")
DATA_DIR = Path(read_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Read SECRET_KEY, or keep a random key under DATA_DIR for local runs."""
    configured = read_optional("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters long.")
        return configured
    key_file = DATA_DIR / "secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = read_bool("DEBUG", False)

# Hosts: the public site on BASE_DOMAIN, each organization on a subdomain.
BASE_DOMAIN = read_hostname("BASE_DOMAIN", "localhost")
PORT = read_int("PORT", 8000, minimum=1, maximum=65535)
# Address `manage.py run` listens on; 0.0.0.0 opens it to the network.
BIND_ADDRESS = read_str("BIND_ADDRESS", "127.0.0.1")
# The port and scheme browsers use, which differ from PORT behind a proxy.
PUBLIC_PORT = read_int("PUBLIC_PORT", PORT, minimum=1, maximum=65535)
URL_SCHEME = read_str("URL_SCHEME", "http")
if URL_SCHEME not in ("http", "https"):
    raise ConfigurationError(f"URL_SCHEME must be http or https, got {URL_SCHEME!r}.")
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
extra_hosts = read_optional("EXTRA_ALLOWED_HOSTS")
if extra_hosts:
    ALLOWED_HOSTS += [host.strip() for host in extra_hosts.split(",") if host.strip()]

# Services. Unset URLs start the embedded servers.
DATABASE_URL = read_url("DATABASE_URL", ("postgres", "postgresql"))
REDIS_URL = read_url("REDIS_URL", ("redis", "rediss", "unix"))
if DATABASE_URL is None:
    DATABASE_URL = embedded.ensure_postgres(DATA_DIR)
if REDIS_URL is None:
    REDIS_URL = embedded.ensure_redis(DATA_DIR)

DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        **database_from_url(DATABASE_URL),
        "CONN_MAX_AGE": read_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        "TEST": {"NAME": read_optional("TEST_DATABASE_NAME")},
    }
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "docassist",
    }
}
# channels-redis 4.3 waits for a channel's next message with a blocking
# 5-second BZPOPMIN, and redis-py 8.0 made 5 seconds the default socket
# timeout, so an idle socket's receive raised TimeoutError and crashed its
# consumer. A longer finite timeout (30 s, tried with redis-py 8.2) let a
# pending read outlive the cancellation that ends a disconnected consumer.
# The layer therefore uses no socket timeout, the default before redis-py 8.0.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": None,
                }
            ],
            "prefix": "docassist",
        },
    }
}

# Apps. Shared apps live in the public schema, tenant apps in each
# organization's schema.
SHARED_APPS = [
    "django_tenants",
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "channels",
    "allauth",
    "allauth.account",
    "djstripe",
    "accounts",
    "organizations",
    "billing",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "documents",
    "assistant",
    "billing.ledger",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "organizations.Organization"
TENANT_DOMAIN_MODEL = "organizations.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New organizations copy this migrated schema instead of running every
# migration, which takes seconds instead of most of a minute.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"

MIDDLEWARE = [
    # Must come first: it picks the schema every later step reads from.
    "organizations.middleware.OrganizationMiddleware",
    "config.observability.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
                "organizations.context_processors.organization",
            ],
        },
    }
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATORS}.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "signup": "20/h/ip"}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = URL_SCHEME == "https"
CSRF_COOKIE_SECURE = URL_SCHEME == "https"
SESSION_COOKIE_AGE = 14 * 24 * 3600

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = read_str("DEFAULT_FROM_EMAIL", f"no-reply@{BASE_DOMAIN}")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(read_str("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MAX_UPLOAD_BYTES = read_int("MAX_UPLOAD_MB", 50, minimum=1) * 1024 * 1024
# Above the paste limit (5 million characters, up to 4 bytes each in UTF-8),
# so an oversized paste gets the API's 413 rather than Django's bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 24 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SIGNUP_RATE = read_str("SIGNUP_RATE", "20/hour")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["organizations.permissions.IsMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "signup": SIGNUP_RATE,
        "login": read_str("LOGIN_RATE", "30/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Celery: the broker is the same Redis; tasks carry the schema name.
CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1)
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = read_int("EXTRACTION_TIME_LIMIT", 300, minimum=10)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-answers": {
        "task": "assistant.tasks.sweep_stale_answers",
        "schedule": 60.0,
    },
    "sweep-stuck-documents": {
        "task": "documents.tasks.sweep_stuck_documents",
        "schedule": 300.0,
    },
}

# Language models.
ANTHROPIC_API_KEY = read_optional("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = read_url("ANTHROPIC_BASE_URL", ("http", "https"))
ANTHROPIC_MODEL = read_str("ANTHROPIC_MODEL", "claude-sonnet-4-5")
# Calls in flight to Anthropic at once, across all instances.
ANTHROPIC_CONCURRENCY = read_int("ANTHROPIC_CONCURRENCY", 8, minimum=1)
ANTHROPIC_MAX_RETRIES = read_int("ANTHROPIC_MAX_RETRIES", 3, minimum=0, maximum=10)
ANSWER_MAX_TOKENS = read_int("ANSWER_MAX_TOKENS", 2048, minimum=64)
# Prompt budget in tokens for documents and history; longer inputs are
# searched and the best passages sent.
CONTEXT_BUDGET_TOKENS = read_int("CONTEXT_BUDGET_TOKENS", 150_000, minimum=1000)
# A streaming answer whose row has not changed for this long is failed.
STALE_ANSWER_SECONDS = read_int("STALE_ANSWER_SECONDS", 120, minimum=10)
# Prices in micro-dollars per million tokens: input, output, cache write,
# cache read. Offline answers cost nothing.
MODEL_PRICES = {
    "claude-sonnet-4-5": (3_000_000, 15_000_000, 3_750_000, 300_000),
    "claude-opus-4-1": (15_000_000, 75_000_000, 18_750_000, 1_500_000),
    "claude-haiku-4-5": (1_000_000, 5_000_000, 1_250_000, 100_000),
    "offline": (0, 0, 0, 0),
}

# Billing. Without a Stripe key, plans are set with `manage.py set_plan`.
STRIPE_SECRET_KEY = read_optional("STRIPE_SECRET_KEY")
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY or ""
STRIPE_TEST_SECRET_KEY = STRIPE_SECRET_KEY or ""
STRIPE_LIVE_MODE = bool(STRIPE_SECRET_KEY and STRIPE_SECRET_KEY.startswith("sk_live"))
DJSTRIPE_WEBHOOK_SECRET = read_optional("STRIPE_WEBHOOK_SECRET") or ""
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
BILLING_ENABLED = STRIPE_SECRET_KEY is not None

# Handoff links that move a signed-in user from one host to another.
HANDOFF_MAX_AGE_SECONDS = 60

LOG_LEVEL = read_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.observability.ContextFilter"}},
    "formatters": {"json": {"()": "config.observability.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# Pause between the offline engine's streamed pieces, so answers arrive the
# way a model's do.
OFFLINE_STREAM_DELAY_MS = read_int(
    "OFFLINE_STREAM_DELAY_MS", 15, minimum=0, maximum=1000
)
