"""FlowMart settings: every value comes from the environment (django-environ).

Three profiles, chosen by ``FLOWMART_ENV``:

* ``development`` (default): needs nothing set; DEBUG on, console email.
* ``test``: what ``make test`` uses; fast hashing, short retry back-off.
* ``production``: DEBUG off, secrets required, HTTPS-only cookies and HSTS,
  JSON logs; ``manage.py check --deploy`` is clean.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from celery.schedules import crontab

from flowmart.logging_config import build_logging
from flowmart.redis_urls import celery_broker_url, django_cache_location

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

FLOWMART_ENV = env.str("FLOWMART_ENV", default="development")
if FLOWMART_ENV not in {"development", "test", "production"}:
    raise environ.ImproperlyConfigured(f"FLOWMART_ENV={FLOWMART_ENV!r} is not one of development, test, production")
PRODUCTION = FLOWMART_ENV == "production"
TESTING = FLOWMART_ENV == "test"

DEBUG = env.bool("DEBUG", default=not PRODUCTION and not TESTING)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: refuse to start without one
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-6f1c0a2b9e7d4c3f8a5b1e0d7c6b5a4f3e2d1c0b")


def signing_secret(name: str, *, development_default: str, required_in_production: bool = True) -> str:
    """A webhook signing secret: a well-known value in development, never a default in production."""
    if PRODUCTION and required_in_production:
        return env.str(name)
    return env.str(name, default=development_default)


ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Domain apps, in the order of the stack in docs/architecture.md §Layers (bottom first).
FLOWMART_DOMAIN_APPS = [
    "inventory",
    "payments",
    "shipping",
    "subscriptions",
    "orders",
    "notifications",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sites",
    # third party
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.usersessions",
    "pgtrigger",
    "pghistory",
    # FlowMart kernel
    "flowmart.users",
    "flowmart.events",
    "flowmart.api",
    "flowmart.staff",
    # FlowMart domain apps
    *FLOWMART_DOMAIN_APPS,
    # The owner's desk on top of them: reports, exports, backups (reads every app, imported by none).
    "reports",
]
INSTALLED_APPS += env.list("FLOWMART_EXTRA_APPS", default=[])

MIDDLEWARE = [
    "flowmart.request_context.RequestIdMiddleware",
    "flowmart.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "flowmart.api.problems.ApiNotFoundMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flowmart.users.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "flowmart.request_guards.NulByteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # request.member_early_access for inventory's views, which may not import subscriptions.
    "subscriptions.middleware.MemberEarlyAccessMiddleware",
    # It runs the view itself, once more when the connection dropped before anything was written.
    "flowmart.database_outage_middleware.DatabaseOutageMiddleware",
    # The audit log's model history (pghistory) records who changed a row, from which address, at which URL.
    # After the outage middleware: pghistory prefixes each statement with its context ("SELECT set_config…;
    # INSERT …"), so the outage middleware's write watch, installed first, must see the statement before that.
    # It has no process_view: the outage middleware still calls the view after every other middleware's checks.
    "flowmart.staff.history.StaffHistoryMiddleware",
]

ROOT_URLCONF = "flowmart.urls"
WSGI_APPLICATION = "flowmart.wsgi.application"
SITE_ID = 1

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
                "flowmart.context_processors.shop",
            ],
            "libraries": {"money": "flowmart.templatetags.money"},
        },
    },
]

# --- Data stores -----------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/flowmart")
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
_database_host = urlsplit(DATABASE_URL).netloc.rsplit("@", 1)[-1]
if _database_host.lower().startswith("%2f"):
    # libpq-style Unix-socket directory (the embedded PostgreSQL); django-environ lower-cases it otherwise.
    DATABASES["default"]["HOST"] = unquote(_database_host)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Redis away is a cache miss, not an error (flowmart/outage_tolerant_cache.py): throttles and rate limits
# fail open, catalog pages come from the database, sessions from their database row (cached_db).
CACHES = {
    "default": {
        "BACKEND": "flowmart.outage_tolerant_cache.OutageTolerantRedisCache",
        "LOCATION": django_cache_location(REDIS_URL),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="flowmart"),
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth & accounts -------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = (
    []
    if TESTING
    else [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    ]
)
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "flowmart.users.adapters.AccountAdapter"
# Login, sign-up and password-reset rate limits are allauth's (storefront and app API alike),
# counted in the Redis cache; the login ones are configurable here. Tests switch them on where they test them.
ACCOUNT_RATE_LIMITS = (
    False
    if TESTING
    else {
        "login": env.str("RATE_LIMIT_LOGIN", default="30/m/ip"),
        "login_failed": env.str("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
        "order_lookup": env.str("RATE_LIMIT_ORDER_LOOKUP", default="10/m/ip,5/h/key"),
    }
)
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[FlowMart] "
# Guests: how long the signed link to an order (confirmation page and emails) opens it, and how often the
# order lookup may be tried: ACCOUNT_RATE_LIMITS["order_lookup"] (allauth's limiter, per IP and per email).
ORDER_LINK_MAX_AGE_DAYS = env.int("ORDER_LINK_MAX_AGE_DAYS", default=90)


HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"  # noqa: S105
HEADLESS_JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)
# RS256 with a key pair in production; HS256 on SECRET_KEY when no key is configured (development).
HEADLESS_JWT_ALGORITHM = "RS256" if HEADLESS_JWT_PRIVATE_KEY else "HS256"
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env.int("JWT_ACCESS_TOKEN_SECONDS", default=300)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env.int("JWT_REFRESH_TOKEN_SECONDS", default=14 * 24 * 3600)
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{SITE_URL}/accounts/confirm-email/{{key}}/",
    "account_reset_password_from_key": f"{SITE_URL}/accounts/password/reset/key/{{key}}/",
    "account_signup": f"{SITE_URL}/accounts/signup/",
}

# --- Email -----------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FlowMart <shop@flowmart.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation --------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DISPLAY_TIME_ZONE", default="UTC")  # display default; storage is always UTC
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production whitenoise serves straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "flowmart.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "checkout": env.str("THROTTLE_CHECKOUT", default="30/min"),
        "webhook": env.str("THROTTLE_WEBHOOK", default="1200/min"),
    },
    "DEFAULT_PARSER_CLASSES": [
        "flowmart.api.parsers.ProblemJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "flowmart.api.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "flowmart.api.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FlowMart API",
    "DESCRIPTION": (
        "REST API for FlowMart's mobile apps.\n\n"
        "**Sign up, log in and refresh tokens** with django-allauth headless at `/_allauth/app/v1/`: "
        "`POST /_allauth/app/v1/auth/login` (email, password) answers `meta.access_token` and "
        "`meta.refresh_token`; send `Authorization: Bearer <access_token>` here and renew it with "
        "`POST /_allauth/app/v1/tokens/refresh` (each refresh returns a new refresh token; the old one is "
        "refused). Its full reference: [/_allauth/openapi.html](/_allauth/openapi.html).\n\n"
        "**Errors** are RFC 9457 problem details (`application/problem+json`); every operation lists the "
        "codes it can answer; the catalogue is docs/api-errors.md.\n\n"
        "**Tags**: customer endpoints by topic; `staff` needs a staff account; `webhooks` are called by "
        "gateways and carriers with signatures, not by apps.\n\n"
        "**Guests** keep their basket with the `X-Basket-Token` header the first basket answer returns."
    ),
    "EXTERNAL_DOCS": {"description": "Accounts and tokens (allauth headless)", "url": "/_allauth/openapi.html"},
    "SWAGGER_UI_DIST": "SIDECAR",  # served by the app (drf-spectacular-sidecar): the docs work offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several apps have a "status" choice set; name the ones that collide.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "DeliveryChoiceEnum": [("redeliver", "redeliver"), ("pickup", "pickup")],
        "RefundStatusEnum": "payments.models.Refund.Status",
        "ShipmentStatusEnum": "shipping.models.Shipment.Status",
        "ReturnStatusEnum": "shipping.models.ReturnRequest.Status",
    },
}
IDEMPOTENCY_KEY_TTL = timedelta(hours=env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24))
# A key "in flight" longer than any request may live (the Procfile's gunicorn --timeout 60) was left by a
# dead process: a retry takes it over instead of waiting.
IDEMPOTENCY_IN_FLIGHT_STALE_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_STALE_SECONDS", default=90)

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=celery_broker_url(REDIS_URL))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task lost with a crashed worker is re-delivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# max_retries 0: a task sent while the broker is down fails at once (the send is logged and the work's sweep
# recovers it) instead of kombu retrying for seconds inside a customer's request. The worker's own consuming
# connection keeps retrying (broker_connection_max_retries).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3, "max_retries": 0}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="flowmart")
CELERY_TIMEZONE = "UTC"
# Celery's Django fix-up closes every database connection before and after each task unless this is set:
# a new PostgreSQL backend per task (≈15 ms of CPU each, 14 per order before). With it the fix-up closes
# them only every this-many tasks, and flowmart/celery.py applies Django's own per-request rule between
# tasks instead (close_old_connections: CONN_MAX_AGE, and a connection that errored or fails its health
# check is replaced), so a dropped connection is replaced before the next task uses it.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# The worker heartbeats (flowmart/worker_heartbeat.py) this often; /readyz answers 503 naming "worker" when the
# last heartbeat is older than the stale limit (READYZ_REQUIRES_WORKER=false keeps it out of readiness, for a
# load balancer that must not drain the web servers over a dead worker; /metrics still exports its age).
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)
WORKER_HEARTBEAT_STALE_SECONDS = env.float("WORKER_HEARTBEAT_STALE_SECONDS", default=60.0)
READYZ_REQUIRES_WORKER = env.bool("READYZ_REQUIRES_WORKER", default=True)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our structured logging config
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often beat looks for sagas whose process died (orders/sweeper.py); see ORDERS_SAGA_LEASE_SECONDS.
ORDERS_SAGA_SWEEP_SECONDS = env.float("ORDERS_SAGA_SWEEP_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE = {
    "events-redeliver": {"task": "flowmart.events.tasks.redeliver_events_task", "schedule": 30.0},
    "idempotency-purge": {"task": "flowmart.api.tasks.purge_idempotency_keys_task", "schedule": crontab(minute=17)},
    "staff-close-unfinished-audit-entries": {
        "task": "flowmart.staff.tasks.close_unfinished_audit_entries_task",
        "schedule": 300.0,
    },
    "inventory-expire-reservations": {"task": "inventory.tasks.reservations_expire_task", "schedule": 60.0},
    "inventory-announce-early-access": {"task": "inventory.tasks.early_access_announce_task", "schedule": 60.0},
    "shipping-poll-tracking": {
        "task": "shipping.tasks.poll_tracking_task",
        "schedule": env.float("SHIPPING_POLL_INTERVAL_SECONDS", default=60.0),
    },
    "payments-reconcile-daily": {
        "task": "payments.tasks.reconcile_payments_task",
        "schedule": crontab(hour=3, minute=5),
    },
    "payments-webhooks-sweep": {"task": "payments.tasks.process_pending_webhooks_task", "schedule": 60.0},
    "payments-resume-stuck": {"task": "payments.tasks.resume_stuck_payments_task", "schedule": 300.0},
    # The sandbox's card network decides disputes whose evidence came in (a no-op with another gateway).
    "payments-sandbox-disputes-decide": {"task": "payments.tasks.sandbox_disputes_decide_task", "schedule": 30.0},
    "payments-void-stray-authorizations": {
        "task": "payments.tasks.void_stray_authorizations_task",
        "schedule": 120.0,
    },
    "orders-sweep-stuck-sagas": {"task": "orders.tasks.sweep_stuck_sagas_task", "schedule": ORDERS_SAGA_SWEEP_SECONDS},
    "subscriptions-bill-due": {
        "task": "subscriptions.tasks.bill_due_subscriptions_task",
        "schedule": env.float("BILLING_RUN_INTERVAL_SECONDS", default=900.0),
    },
    "subscriptions-resolve-incomplete": {
        "task": "subscriptions.tasks.resolve_incomplete_subscriptions_task",
        "schedule": 300.0,
    },
    "orders-expire-payment-retries": {"task": "orders.tasks.expire_payment_retries_task", "schedule": 60.0},
    "orders-retry-waiting-exchanges": {"task": "orders.tasks.retry_waiting_exchanges_task", "schedule": 300.0},
    "orders-renew-authorizations": {
        "task": "orders.tasks.renew_authorizations_task",
        "schedule": env.float("ORDERS_AUTHORIZATION_SWEEP_SECONDS", default=3600.0),
    },
    "notifications-requeue-stuck": {"task": "notifications.tasks.requeue_stuck_notifications_task", "schedule": 60.0},
    "notifications-feedback-requests": {
        "task": "notifications.tasks.send_due_feedback_requests_task",
        "schedule": crontab(minute="*/15"),
    },
    "reports-weekly-summary": {
        "task": "reports.tasks.weekly_summary_task",
        "schedule": crontab(day_of_week="mon", hour=7, minute=0),
    },
}

# --- Reports, exports and backups (reports app, flowmart/backups.py; docs/operations.md) -------------
# Staff groups whose members get the weekly summary email (Mondays 07:00, last Monday to Sunday).
REPORTS_SUMMARY_GROUPS = env.list("REPORTS_SUMMARY_GROUPS", default=["Manager", "Finance"])
# `manage.py backup`: where archives go and how many of the newest are kept (older ones are deleted).
BACKUP_DIR = env.path("BACKUP_DIR", default=str(BASE_DIR / ".data" / "backups"))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=7)
# Where pg_dump / pg_restore are; empty: found by the server's major version (flowmart/backups.py).
BACKUP_PG_BIN_DIR = env.str("BACKUP_PG_BIN_DIR", default="")
# Optional nightly backup by beat (a crontab hour, 0-23; empty: no scheduled backup).
BACKUP_SCHEDULE_HOUR = env.str("BACKUP_SCHEDULE_HOUR", default="")
if BACKUP_SCHEDULE_HOUR:
    CELERY_BEAT_SCHEDULE["reports-nightly-backup"] = {
        "task": "reports.tasks.backup_task",
        "schedule": crontab(hour=int(BACKUP_SCHEDULE_HOUR), minute=30),
    }

# --- Event spine -----------------------------------------------------------
EVENTS_MAX_ATTEMPTS = env.int("EVENTS_MAX_ATTEMPTS", default=6)
# Back-off before retry n is base * 2**(n-1) seconds (capped).
EVENTS_RETRY_BASE_SECONDS = env.float("EVENTS_RETRY_BASE_SECONDS", default=0.05 if TESTING else 2.0)
EVENTS_RETRY_MAX_SECONDS = env.float("EVENTS_RETRY_MAX_SECONDS", default=600.0)
# Visibility timeout: an outbox event, delivery or command whose task was sent this long ago and is still not
# done is sent again by the beat task (one whose send failed goes at the next run). Longer than a backlog
# takes to drain, so a queue that is merely slow is not filled with copies.
EVENTS_REDELIVER_AFTER_SECONDS = env.float("EVENTS_REDELIVER_AFTER_SECONDS", default=120.0)
# While a relay task waits in the queue (sent, not started) a committing transaction sends none: the waiting one
# claims its rows (flowmart/events/publisher.py, relay_request). The mark lasts this long at most: a task that
# waits longer costs one more task per period; one that was lost (its worker killed while it waited) leaves the
# events of this period to the next transaction's relay, or to the sweep when none follows.
EVENTS_RELAY_WAITING_SECONDS = env.float("EVENTS_RELAY_WAITING_SECONDS", default=2.0)
# Follow-up work recorded as a command (flowmart/events/commands.py): tries before it is a dead command, and
# how long one run holds it (a worker killed mid-run frees it after that).
EVENTS_COMMAND_MAX_ATTEMPTS = env.int("EVENTS_COMMAND_MAX_ATTEMPTS", default=10)
EVENTS_COMMAND_LEASE_SECONDS = env.int("EVENTS_COMMAND_LEASE_SECONDS", default=300)

# --- Security --------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=PRODUCTION) else None
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# /healthz and /readyz are probed over plain HTTP by the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Logging ---------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
LOGGING_CONFIG = None
build_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --- Shop ------------------------------------------------------------------
SHOP_NAME = env.str("SHOP_NAME", default="FlowMart")
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="USD")

# --- Payments (payments app) -------------------------------------------------
# "sandbox" (a built-in card processor that understands Stripe's test payment methods) or "stripe".
PAYMENTS_GATEWAY = env.str("PAYMENTS_GATEWAY", default="sandbox")
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Stripe Elements in the storefront's card forms (the browser turns the card into a pm_… id with it).
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
SANDBOX_WEBHOOK_SECRET = signing_secret(
    "SANDBOX_WEBHOOK_SECRET",
    development_default="whsec_sandbox_development_only",
    required_in_production=PAYMENTS_GATEWAY == "sandbox",
)
# Signed webhooks older (or newer) than this are refused as stale.
PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Refunds above this amount (minor units) wait for a member of the "Finance" group to approve them.
# Audit log (docs/staff.md): history event tables refuse UPDATE and DELETE (a trigger), like the audit entries.
PGHISTORY_APPEND_ONLY = True
# A staff action's audit entry with no outcome this long after it started belongs to a process that died (a
# request is killed by gunicorn's --timeout, 60 s, long before): the sweeper closes it as "interrupted".
STAFF_AUDIT_UNFINISHED_AFTER_SECONDS = env.int("STAFF_AUDIT_UNFINISHED_AFTER_SECONDS", default=600)
REFUND_APPROVAL_THRESHOLD_MINOR = env.int("REFUND_APPROVAL_THRESHOLD_MINOR", default=50000)
# Transient gateway failures (timeouts, 5xx) are retried with the same idempotency key.
PAYMENTS_GATEWAY_MAX_ATTEMPTS = env.int("PAYMENTS_GATEWAY_MAX_ATTEMPTS", default=3)
PAYMENTS_GATEWAY_BACKOFF_SECONDS = env.float("PAYMENTS_GATEWAY_BACKOFF_SECONDS", default=0.001 if TESTING else 0.5)
# An authorization the gateway has held this long that no authorized payment explains is voided (and reported).
PAYMENTS_STRAY_AUTHORIZATION_MINUTES = env.int("PAYMENTS_STRAY_AUTHORIZATION_MINUTES", default=5)
# Gateways drop an uncaptured authorization after about seven days (Stripe: 7 for most cards); the sandbox
# refuses to capture one older than this, and orders renews an undispatched order's authorization before then.
PAYMENTS_AUTHORIZATION_VALID_DAYS = env.int("PAYMENTS_AUTHORIZATION_VALID_DAYS", default=7)
# How long after capture the sandbox sends the dispute webhook for pm_card_createDispute.
PAYMENTS_SANDBOX_DISPUTE_DELAY_SECONDS = env.float(
    "PAYMENTS_SANDBOX_DISPUTE_DELAY_SECONDS", default=0 if TESTING else 20
)
# How long after the evidence arrives the sandbox's bank decides a dispute (beat sweep, every 30 s).
PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS = env.int("PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS", default=120)
# The sandbox's dispute fee, withdrawn with the disputed amount and given back if the dispute is won (Stripe: $15).
PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR = env.int("PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR", default=1500)

# --- Orders (basket, checkout saga) ------------------------------------------
BASKET_MAX_QUANTITY = env.int("BASKET_MAX_QUANTITY", default=10)  # per line
BASKET_MAX_LINES = env.int("BASKET_MAX_LINES", default=50)
PAYMENT_RETRY_WINDOW_HOURS = env.int("PAYMENT_RETRY_WINDOW_HOURS", default=24)
# Stock held for a pending or confirmed order until dispatch (inventory's reservation TTL).
ORDERS_RESERVATION_TTL_MINUTES = env.int("ORDERS_RESERVATION_TTL_MINUTES", default=7 * 24 * 60 + 60)
# A saga whose lease ran out without finishing belongs to a dead process: the sweeper takes over. Each step
# renews the lease; lease + sweep period bound how long an interrupted checkout waits (30 s by default).
# A takeover of a saga that is only slow is harmless (every step is idempotent), just wasted work.
ORDERS_SAGA_LEASE_SECONDS = env.int("ORDERS_SAGA_LEASE_SECONDS", default=20)
# A declined checkout holds its stock this long (the retry link stays valid for PAYMENT_RETRY_WINDOW_HOURS and
# reserves again on retry).
ORDERS_DECLINE_HOLD_MINUTES = env.int("ORDERS_DECLINE_HOLD_MINUTES", default=15)
# An undispatched order's authorization this close to PAYMENTS_AUTHORIZATION_VALID_DAYS is renewed (a new
# authorization, the old one voided) by the hourly sweep; if that fails the order is held for staff.
ORDERS_AUTHORIZATION_RENEW_HOURS_BEFORE = env.int("ORDERS_AUTHORIZATION_RENEW_HOURS_BEFORE", default=24)

# --- Shipping (shipping app) -------------------------------------------------
# The default carrier adapter: "sandbox" (built-in, deterministic; see docs/shipping.md) or "easypost".
# Each shipping method may name its own carrier in the admin (Shipping → Shipping methods → Carrier).
SHIPPING_CARRIER = env.str("SHIPPING_CARRIER", default="sandbox")
# EasyPost (a shipping method's carrier "easypost"). Production requires the key, the webhook secret
# and the from-addresses when EasyPost is the default carrier; a method can only be switched to
# EasyPost in the admin once they are set (shipping.carriers.carrier_missing_settings).
_EASYPOST_REQUIRED = PRODUCTION and SHIPPING_CARRIER == "easypost"
EASYPOST_API_KEY = env.str("EASYPOST_API_KEY") if _EASYPOST_REQUIRED else env.str("EASYPOST_API_KEY", default="")
EASYPOST_WEBHOOK_SECRET = (
    env.str("EASYPOST_WEBHOOK_SECRET") if _EASYPOST_REQUIRED else env.str("EASYPOST_WEBHOOK_SECRET", default="")
)
# Where parcels leave from, by warehouse code ("default" for the others), in the shop's address shape:
# {"default": {"name", "line1", "line2", "city", "region", "postal_code", "country", "phone"}}.
EASYPOST_FROM_ADDRESSES = (
    env.json("EASYPOST_FROM_ADDRESSES") if _EASYPOST_REQUIRED else env.json("EASYPOST_FROM_ADDRESSES", default={})
)
EASYPOST_API_BASE = env.str("EASYPOST_API_BASE", default="https://api.easypost.com/v2")
EASYPOST_TIMEOUT_SECONDS = env.float("EASYPOST_TIMEOUT_SECONDS", default=20.0)
# Live rates at checkout (methods with "live rates" on): how long to wait for the carrier before
# quoting the method's flat rate instead, and how long a quote (live or fallback) is reused so the
# price the customer saw is the price checkout charges.
SHIPPING_LIVE_RATE_TIMEOUT_SECONDS = env.float("SHIPPING_LIVE_RATE_TIMEOUT_SECONDS", default=3.0)
SHIPPING_LIVE_RATE_CACHE_SECONDS = env.int("SHIPPING_LIVE_RATE_CACHE_SECONDS", default=600)
# Shared secret of the signed carrier webhook (HMAC-SHA256 over "<timestamp>.<body>").
CARRIER_WEBHOOK_SECRET = signing_secret(
    "CARRIER_WEBHOOK_SECRET", development_default="carrier_sandbox_development_only"
)
CARRIER_WEBHOOK_TOLERANCE_SECONDS = env.int("CARRIER_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Customers may ask to return delivered items for this many days.
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=30)
# An exchange whose replacement is out of stock waits this long (retried every 5 min), then becomes a refund.
RETURN_EXCHANGE_WAIT_DAYS = env.int("RETURN_EXCHANGE_WAIT_DAYS", default=7)
# The beat task polls the carrier for at most this many active shipments per run.
SHIPPING_POLL_BATCH_SIZE = env.int("SHIPPING_POLL_BATCH_SIZE", default=100)
# Grace period before a confirmed order's parcel is labelled (it then goes to fulfilment and can no
# longer be changed online): customers can amend or cancel for this long after checkout.
SHIPPING_LABEL_DELAY_SECONDS = env.int("SHIPPING_LABEL_DELAY_SECONDS", default=0 if TESTING else 600)
SHIPPING_POLL_INTERVAL_SECONDS = env.float("SHIPPING_POLL_INTERVAL_SECONDS", default=60.0)
# The sandbox carrier moves a parcel one step (picked up, in transit, delivered, …) per interval.
SHIPPING_SANDBOX_STEP_SECONDS = env.int("SHIPPING_SANDBOX_STEP_SECONDS", default=3600 if TESTING else 120)
# Countries the sandbox carrier serves; labels to any other country are refused.
SHIPPING_SANDBOX_COUNTRIES = env.list(
    "SHIPPING_SANDBOX_COUNTRIES",
    default=[
        "US",
        "CA",
        "GB",
        "DE",
        "FR",
        "IT",
        "ES",
        "NL",
        "BE",
        "AT",
        "IE",
        "PT",
        "SE",
        "DK",
        "FI",
        "PL",
        "AU",
        "JP",
    ],
)
SHIPPING_TRACKING_URL = env.str("SHIPPING_TRACKING_URL", default=f"{SITE_URL}/tracking/{{number}}/")
# Failed deliveries: after this many failed attempts the shop gives up, has the parcel returned and refunds.
SHIPPING_MAX_DELIVERY_ATTEMPTS = env.int("SHIPPING_MAX_DELIVERY_ATTEMPTS", default=3)
# The shop's estimate when the carrier gives none: the next business day after the failed attempt, plus this
# many business days (Monday to Friday).
SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS = env.int("SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS", default=1)
# How long to keep asking an unreachable carrier for its new estimate before telling the customer ours.
SHIPPING_DELIVERY_OPTIONS_WAIT_SECONDS = env.int("SHIPPING_DELIVERY_OPTIONS_WAIT_SECONDS", default=600)

# --- Notifications (notifications app) ---------------------------------------
# Channel backends (dotted paths). Email goes through Django's EMAIL_BACKEND (EMAIL_URL / django-anymail);
# SMS and push default to the sandbox, which records messages in the staff-visible outbox.
NOTIFICATIONS_EMAIL_BACKEND = env.str(
    "NOTIFICATIONS_EMAIL_BACKEND", default="notifications.channels.email.DjangoEmailBackend"
)
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.channels.sandbox.SandboxSmsBackend")
PUSH_BACKEND = env.str("PUSH_BACKEND", default="notifications.channels.sandbox.SandboxPushBackend")
# Twilio (SMS_BACKEND=notifications.channels.twilio_sms.TwilioSmsBackend); the auth token also verifies
# the signed delivery-status callbacks.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Firebase Cloud Messaging (PUSH_BACKEND=notifications.channels.fcm_push.FcmPushBackend)
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")  # service-account JSON path
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
# Sending: retried with exponential back-off on transient errors, then failed.
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=5)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.float("NOTIFICATIONS_RETRY_BASE_SECONDS", default=0.05 if TESTING else 30.0)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.float("NOTIFICATIONS_RETRY_MAX_SECONDS", default=3600.0)
NOTIFICATIONS_SEND_LEASE_SECONDS = env.int("NOTIFICATIONS_SEND_LEASE_SECONDS", default=300)
NOTIFICATIONS_REQUEUE_AFTER_SECONDS = env.int("NOTIFICATIONS_REQUEUE_AFTER_SECONDS", default=120)
# Rate limit per recipient (all channels): at most N messages per window; the rest wait for the next window.
NOTIFICATIONS_RATE_LIMIT_PER_RECIPIENT = env.int("NOTIFICATIONS_RATE_LIMIT_PER_RECIPIENT", default=10)
NOTIFICATIONS_RATE_LIMIT_WINDOW_SECONDS = env.int("NOTIFICATIONS_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Feedback: ask for a rating this many days after delivery; the signed link stays valid this long.
FEEDBACK_DELAY_DAYS = env.int("FEEDBACK_DELAY_DAYS", default=3)
FEEDBACK_LINK_MAX_AGE_DAYS = env.int("FEEDBACK_LINK_MAX_AGE_DAYS", default=60)
# Email providers' delivery-status webhooks (/anymail/<esp>/tracking/) require this "user:password" basic auth.
# Unset in production: a random value, so the webhooks refuse everything until it is configured.
ANYMAIL = {
    "WEBHOOK_SECRET": env.str(
        "ANYMAIL_WEBHOOK_SECRET", default=secrets.token_urlsafe(32) if PRODUCTION else "anymail:development-only"
    ),
}

# --- Subscriptions (subscriptions app) ---------------------------------------
# The beat task "subscriptions-bill-due" (above) bills due subscriptions in batches of this many ids.
BILLING_BATCH_SIZE = env.int("BILLING_BATCH_SIZE", default=200)
# Dunning: after a declined renewal, retry this many days after the first failure; then cancel.
DUNNING_SCHEDULE_DAYS = env.list("DUNNING_SCHEDULE_DAYS", cast=int, default=[1, 3, 7])
