"""Orlume settings: every value comes from the environment, with embedded defaults.

With no variables set the product runs on one machine with no services (SQLite in WAL mode,
in-memory channel layer, Dramatiq StubBroker with worker threads in the web process, local-memory
cache, files on the local disk). Production names its services by URL; README.md lists them all.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Lets Django's generic classes be subscripted at run time (ModelAdmin[User], ...).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
VAR_DIR = Path(env.str("ORLUME_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

if DEBUG:
    # A fixed key only for the embedded default; production must name its own.
    SECRET_KEY = env.str("SECRET_KEY", default="orlume-embedded-development-key-not-for-production")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY (at least 50 characters) is required when DEBUG is off"
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public origin of this deployment, used in links that leave the request (signed URLs, emails).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "accounts",
    "projects",
    "collab",
    "exports",
]

MIDDLEWARE = [
    "orlume_site.middleware.RequestIDMiddleware",
    "orlume_site.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "orlume_site.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "orlume_site.urls"
ASGI_APPLICATION = "orlume_site.asgi.application"
WSGI_APPLICATION = None

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'orlume.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write lock at BEGIN
    # so concurrent writers queue on busy_timeout instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests use a file, not shared-cache :memory:, so worker threads and the test thread write
    # through WAL and busy_timeout instead of failing with "database table is locked".
    _db["TEST"] = {"NAME": str(VAR_DIR / "test-orlume.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool replaces persistent connections (CONN_MAX_AGE must stay 0 with it).
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channel layer, rate limits -------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="orlume"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- job queue --------------------------------------------------------------------------------
# Empty: Dramatiq's StubBroker, consumed by worker threads inside the web process.
BROKER_URL = env.str("BROKER_URL", default="")
EMBEDDED_WORKERS = env.bool("EMBEDDED_WORKERS", default=not BROKER_URL)
EMBEDDED_WORKER_THREADS = env.int("EMBEDDED_WORKER_THREADS", default=2)

# --- exports and render workers -----------------------------------------------------------------
# A worker holds a job's lease for EXPORT_LEASE_SECONDS and renews it every third of that; an
# attempt may run EXPORT_ATTEMPT_TIMEOUT_SECONDS; the whole job (queueing included) must finish
# within EXPORT_DEADLINE_SECONDS. The sweep runs every EXPORT_SWEEP_INTERVAL_SECONDS (in the web
# process when EXPORT_SWEEPER_IN_WEB, else as `manage.py sweep`) and re-sends pending jobs whose
# message is older than EXPORT_RESEND_AFTER_SECONDS. RENDER_BACKEND: auto, cpu or cuda.
EXPORT_LEASE_SECONDS = env.float("EXPORT_LEASE_SECONDS", default=60)
EXPORT_ATTEMPT_TIMEOUT_SECONDS = env.float("EXPORT_ATTEMPT_TIMEOUT_SECONDS", default=15 * 60)
EXPORT_DEADLINE_SECONDS = env.float("EXPORT_DEADLINE_SECONDS", default=6 * 3600)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
EXPORT_RESEND_AFTER_SECONDS = env.float("EXPORT_RESEND_AFTER_SECONDS", default=120)
EXPORT_SWEEP_INTERVAL_SECONDS = env.float("EXPORT_SWEEP_INTERVAL_SECONDS", default=30)
EXPORT_SWEEPER_IN_WEB = env.bool("EXPORT_SWEEPER_IN_WEB", default=EMBEDDED_WORKERS)
RENDER_BACKEND = env.str("RENDER_BACKEND", default="auto")
BATCH_MAX_PROJECTS = env.int("BATCH_MAX_PROJECTS", default=500)

# --- webhooks -----------------------------------------------------------------------------------
# On-premises installs may send webhooks to loopback/private/unique-local addresses (and http://).
# Link-local, cloud metadata, multicast, reserved and unspecified addresses stay refused.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOKS_MAX_ENDPOINTS_PER_USER = env.int("WEBHOOKS_MAX_ENDPOINTS_PER_USER", default=20)

# --- files ------------------------------------------------------------------------------------
AWS_STORAGE_BUCKET_NAME = env.str("S3_BUCKET", default="")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("S3_REGION", default="us-east-1"),
        "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": env.int("SIGNED_URL_TTL_SECONDS", default=300),
        "file_overwrite": False,
        "signature_version": "s3v4",
        "addressing_style": env.str("S3_ADDRESSING_STYLE", default="path"),
    }
    _files_backend = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _files_backend = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _files_backend,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# The embedded default serves static files straight from the apps, no collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "UPDATE_LAST_LOGIN": False,
}
# Failed logins: after SLOWDOWN_AFTER failures answers are delayed, after LOCK_AFTER they are
# refused for LOCK_SECONDS; counted per account and per address.
LOGIN_FAILURES = {
    "SLOWDOWN_AFTER": env.int("LOGIN_SLOWDOWN_AFTER", default=3),
    "SLOWDOWN_MAX_SECONDS": env.float("LOGIN_SLOWDOWN_MAX_SECONDS", default=2.0),
    "ACCOUNT_LOCK_AFTER": env.int("LOGIN_ACCOUNT_LOCK_AFTER", default=10),
    "ADDRESS_LOCK_AFTER": env.int("LOGIN_ADDRESS_LOCK_AFTER", default=50),
    "LOCK_SECONDS": env.int("LOGIN_LOCK_SECONDS", default=900),
}
DEFAULT_STORAGE_LIMIT_BYTES = 5 * 1024**3

# --- API --------------------------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Paths whose views bound the body themselves (the embedded default's signed upload endpoint
# streams exactly the granted size to disk).
BODY_SIZE_LIMIT_EXEMPT_PREFIXES = ["/api/v1/upload/local/"]
# Number of reverse proxies in front of us whose X-Forwarded-For we trust (0: none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.FamilyCheckedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "orlume_site.api.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orlume_site.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "orlume_site.api.throttling.AddressRateThrottle",
        "orlume_site.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "address": env.str("RATE_LIMIT_ANONYMOUS", default="100/min"),
        "user": env.str("RATE_LIMIT_USER", default="1000/min"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orlume API",
    "DESCRIPTION": "Accounts, projects, edit recipes, collaboration and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"ExportJobStatusEnum": "exports.models.JobStatus"},
}

# --- security headers ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"
_connect_src = [SELF, *env.list("CSP_CONNECT_SRC", default=[])]
_img_src = [SELF, "data:", "blob:", *env.list("CSP_IMG_SRC", default=[])]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, "'wasm-unsafe-eval'"],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": _img_src,
        "connect-src": _connect_src,
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None

# --- logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "orlume_site.logging.RequestIDFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- projects: uploads, signed links, history ---------------------------------------------------
UPLOAD_URL_TTL_SECONDS = env.int("UPLOAD_URL_TTL_SECONDS", default=15 * 60)
UPLOAD_MULTIPART_TTL_SECONDS = env.int("UPLOAD_MULTIPART_TTL_SECONDS", default=24 * 3600)
UPLOAD_MULTIPART_THRESHOLD_BYTES = env.int("UPLOAD_MULTIPART_THRESHOLD_BYTES", default=64 * 1024**2)
UPLOAD_PART_SIZE_BYTES = env.int("UPLOAD_PART_SIZE_BYTES", default=16 * 1024**2)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=4 * 1024**3)
ASSET_URL_TTL_SECONDS = env.int("ASSET_URL_TTL_SECONDS", default=300)
PROJECT_VERSION_COALESCE_SECONDS = env.float("PROJECT_VERSION_COALESCE_SECONDS", default=5.0)
XMP_MAX_BYTES = env.int("XMP_MAX_BYTES", default=256 * 1024)

# --- collaboration rooms (collab/conf.py has the defaults and meanings) ----------------------------
COLLAB = {
    "TICKET_TTL_SECONDS": env.int("COLLAB_TICKET_TTL_SECONDS", default=30),
    "OPS_PER_SECOND": env.float("COLLAB_OPS_PER_SECOND", default=30.0),
    "OP_BURST": env.int("COLLAB_OP_BURST", default=20),
    "MAX_CONNECTIONS_PER_ROOM": env.int("COLLAB_MAX_CONNECTIONS_PER_ROOM", default=50),
    "MAX_CONNECTIONS_PER_USER": env.int("COLLAB_MAX_CONNECTIONS_PER_USER", default=10),
    "MAX_UNREAD_MESSAGES": env.int("COLLAB_MAX_UNREAD_MESSAGES", default=2000),
    "SNAPSHOT_SECONDS": env.float("COLLAB_SNAPSHOT_SECONDS", default=5.0),
    "OPS_RETAIN": env.int("COLLAB_OPS_RETAIN", default=10_000),
    "WRITE_CONNECTIONS": env.int("COLLAB_WRITE_CONNECTIONS", default=4),
}
# Decoded preview proxies each worker process keeps in memory (render_worker/previews.py).
PREVIEW_PROXY_CACHE_BYTES = env.int("PREVIEW_PROXY_CACHE_BYTES", default=256 * 1024**2)
