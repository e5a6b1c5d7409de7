"""Settings for quaysquash: every knob is an environment variable with an embedded default.

The embedded defaults (SQLite, local files and a private Redis under ``var/``) make a fresh
clone run with one command; deployments point the same variables at PostgreSQL, S3-compatible
storage and a shared Redis.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

from quaysquash.envconfig import envbool, envchoice, envfloat, envint, envpath

BASE_DIR = Path(__file__).resolve().parent.parent


def _persistent_secret(path: Path, make) -> str:
    # A secret generated on first start must survive restarts, or sessions and encrypted
    # tokens would be lost; keep it in the var dir, readable by the owner only.
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


VAR_DIR = envpath("QS_VAR_DIR", BASE_DIR / "var")

SECRET_KEY = os.getenv("SECRET_KEY") or _persistent_secret(
    VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50)
)


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# Encrypts robot tokens at rest (Fernet). Losing it makes existing tokens unreadable.
QS_TOKEN_ENCRYPTION_KEY = os.getenv("QS_TOKEN_ENCRYPTION_KEY") or _persistent_secret(
    VAR_DIR / "token_key", _fernet_key
)

DEBUG = envbool("DEBUG", "false")
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "*").split(",")

QS_SERVER_HOSTNAME = os.getenv("QS_SERVER_HOSTNAME", "127.0.0.1:8000")
QS_PREFERRED_URL_SCHEME = envchoice("QS_PREFERRED_URL_SCHEME", "http", ("http", "https"))
CSRF_TRUSTED_ORIGINS = [f"{QS_PREFERRED_URL_SCHEME}://{QS_SERVER_HOSTNAME}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: its ``runserver`` (uvicorn, ASGI) must win over staticfiles' one.
    "quaysquash.core",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "quaysquash.accounts",
    "quaysquash.registry",
    "quaysquash.squash",
    "quaysquash.web",
    "quaysquash.api",
    "quaysquash.proxy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "quaysquash.core.staticfiles.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Registry paths such as /v2/acme/web/blobs/uploads/ must not be redirected to add a slash.
APPEND_SLASH = False

ROOT_URLCONF = "quaysquash.urls"
WSGI_APPLICATION = "quaysquash.wsgi.application"
ASGI_APPLICATION = "quaysquash.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = os.getenv("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'quaysquash.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, workers and commands share one SQLite file: WAL and a busy timeout keep
    # concurrent writers from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# The only backend: it checks passwords as Django's ModelBackend does, and robot tokens for the
# registry and the squashed download (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["quaysquash.accounts.backends.CredentialsBackend"]
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True

# Storage of registry blobs: "local" (files under QS_STORAGE_ROOT) or "s3".
QS_STORAGE_BACKEND = os.getenv("QS_STORAGE_BACKEND", "local")
QS_STORAGE_ROOT = envpath("QS_STORAGE_ROOT", VAR_DIR / "storage")
# S3-compatible object storage (QS_STORAGE_BACKEND=s3): the endpoint is empty for AWS itself;
# empty keys let boto3 find credentials its usual way (environment, instance role).
QS_S3_ENDPOINT_URL = os.getenv("QS_S3_ENDPOINT_URL", "")
QS_S3_BUCKET = os.getenv("QS_S3_BUCKET", "")
QS_S3_REGION = os.getenv("QS_S3_REGION", "us-east-1")
QS_S3_ACCESS_KEY_ID = os.getenv("QS_S3_ACCESS_KEY_ID", "")
QS_S3_SECRET_ACCESS_KEY = os.getenv("QS_S3_SECRET_ACCESS_KEY", "")
# Key prefix inside the bucket ("registry/" puts blobs under registry/blobs/...).
QS_S3_PREFIX = os.getenv("QS_S3_PREFIX", "")
# Lifetime of presigned GET URLs; a client must start its download within it.
QS_S3_PRESIGN_SECONDS = envint("QS_S3_PRESIGN_SECONDS", "600")
# Answer blob and cached-squash GETs with a redirect to a presigned URL (bytes bypass us).
QS_S3_REDIRECT = envbool("QS_S3_REDIRECT", "true")

# Squashed images: total size budget of the fleet (LRU eviction beyond it).
QS_SQUASH_CACHE_MAX_BYTES = envint("QS_SQUASH_CACHE_MAX_BYTES", str(20 * 1024**3))
# When set, cached squashes are handed to nginx with X-Accel-Redirect under this prefix.
QS_SQUASH_X_ACCEL_PREFIX = os.getenv("QS_SQUASH_X_ACCEL_PREFIX", "")

# Registry bearer tokens (docker login flow).
QS_REGISTRY_SERVICE = os.getenv("QS_REGISTRY_SERVICE", QS_SERVER_HOSTNAME)
QS_REGISTRY_TOKEN_TTL = envint("QS_REGISTRY_TOKEN_TTL", "300")
# Upload sessions idle this long are removed (with their partial file) by a periodic task.
QS_REGISTRY_UPLOAD_MAX_AGE_SECONDS = envint("QS_REGISTRY_UPLOAD_MAX_AGE_SECONDS", str(24 * 3600))
QS_REGISTRY_UPLOAD_CLEANUP_INTERVAL = envint("QS_REGISTRY_UPLOAD_CLEANUP_INTERVAL", "3600")

REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6390/0")
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# --- broker outages (issue 16): fail fast in requests, keep the worker alive -------------------
# Only the ping task's result is ever read (serve, tests); every other task ignores its result,
# so that sending one does not also subscribe to the result backend (which retried for ~19 s
# per pull while Redis was down).
CELERY_TASK_IGNORE_RESULT = True
# A request that publishes a task (a pull, a push's index jobs) must learn at once that Redis is
# down, not after retries: loopback refuses instantly, a dead remote host within a second.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A build keeps running through a broker blip; its redelivered duplicate backs off.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# --- end broker outages -------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {"TITLE": "quaysquash API", "VERSION": "1"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing root

# Squash delivery
# Builders refresh their row's heartbeat this often; followers and the janitor treat a build
# whose heartbeat is older than QS_SQUASH_STALE_SECONDS as dead (worker killed) and restart it.
QS_SQUASH_HEARTBEAT_SECONDS = envfloat("QS_SQUASH_HEARTBEAT_SECONDS", "1")
QS_SQUASH_STALE_SECONDS = envfloat("QS_SQUASH_STALE_SECONDS", "10")
# A queued build nobody has picked up yet is only given up on after this long (busy workers).
QS_SQUASH_QUEUE_TIMEOUT_SECONDS = envfloat("QS_SQUASH_QUEUE_TIMEOUT_SECONDS", "300")
# Bytes per read when streaming a squash to a client.
QS_SQUASH_CHUNK_BYTES = envint("QS_SQUASH_CHUNK_BYTES", str(1024 * 1024))
# Cap on how fast one build writes (bytes/s, 0 = unlimited): spares the disk of a busy host.
QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND = envint("QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND", "0")
# Index the layers of every pushed tag right away, so that its first squash starts at once.
QS_SQUASH_INDEX_ON_PUSH = envbool("QS_SQUASH_INDEX_ON_PUSH", "true")

# --- Squash limits (squashengine.Limits; docs/squash-delivery.md "Limits") --------------------
# What one squash may cost, so that a small hostile upload cannot exhaust a worker. A build that
# hits one fails for good ("content" failure, remembered): see QS_SQUASH_CONTENT_FAILURE_SECONDS.
# One entry's extension headers (PAX records, GNU long names, sparse map), like Go's archive/tar.
QS_SQUASH_MAX_HEADER_BYTES = envint("QS_SQUASH_MAX_HEADER_BYTES", str(1024**2))
QS_SQUASH_MAX_ENTRIES = envint("QS_SQUASH_MAX_ENTRIES", "500000")  # per layer
QS_SQUASH_MAX_PATH_BYTES = envint("QS_SQUASH_MAX_PATH_BYTES", "4096")  # names, link targets
# The squash's planned (uncompressed) size, checked from the plan before the first byte.
QS_SQUASH_MAX_OUTPUT_BYTES = envint("QS_SQUASH_MAX_OUTPUT_BYTES", str(64 * 1024**3))
# Uncompressed/compressed bytes of a layer, checked while indexing once more than
# QS_SQUASH_MAX_INFLATION_GRACE_BYTES came out (small runs of zeros are harmless).
QS_SQUASH_MAX_INFLATION_RATIO = envint("QS_SQUASH_MAX_INFLATION_RATIO", "100")
QS_SQUASH_MAX_INFLATION_GRACE_BYTES = envint("QS_SQUASH_MAX_INFLATION_GRACE_BYTES", str(1024**3))
# Free space the cache's filesystem must keep beyond a build's planned size.
QS_SQUASH_MIN_FREE_BYTES = envint("QS_SQUASH_MIN_FREE_BYTES", str(1024**3))
# A content failure (corrupt or hostile layer, limit, digest or diff_id mismatch) is answered
# from the failed row this long before the key is built again; transient failures (worker or
# storage trouble) retry after QS_SQUASH_RETRY_BASE_SECONDS, doubling per attempt up to the max.
QS_SQUASH_CONTENT_FAILURE_SECONDS = envint("QS_SQUASH_CONTENT_FAILURE_SECONDS", str(24 * 3600))
QS_SQUASH_RETRY_BASE_SECONDS = envfloat("QS_SQUASH_RETRY_BASE_SECONDS", "2")
QS_SQUASH_RETRY_MAX_SECONDS = envfloat("QS_SQUASH_RETRY_MAX_SECONDS", "300")
# --- end of squash limits ------------------------------------------------------------------

# A manifest request under /v2/squashed/ for an image not built yet waits this long for the build.
QS_SQUASHED_PULL_WAIT_SECONDS = envfloat("QS_SQUASHED_PULL_WAIT_SECONDS", "120")
# --- Storage layer (quaysquash/storage/): shared objects, per-host scratch --------------------
# Per-host scratch: staged request bodies, build scratch, the layer read cache. Deletable at any
# time; never the only copy of anything.
QS_SCRATCH_DIR = envpath("QS_SCRATCH_DIR", VAR_DIR / "scratch")
# Bound of the per-host layer read cache of the workers (LRU; 0 disables it).
QS_LAYER_CACHE_MAX_BYTES = envint("QS_LAYER_CACHE_MAX_BYTES", str(10 * 1024**3))
# A build commits its archive into the storage as segments of at most this many bytes, and at
# least every QS_SQUASH_SEGMENT_SECONDS while bytes are waiting (first byte, slow phases).
QS_SQUASH_SEGMENT_BYTES = envint("QS_SQUASH_SEGMENT_BYTES", str(8 * 1024**2))
QS_SQUASH_SEGMENT_SECONDS = envfloat("QS_SQUASH_SEGMENT_SECONDS", "0.1")
# Eviction spares squashes read (or redirected to) within this many seconds (a reader's lease).
QS_SQUASH_EVICT_GRACE_SECONDS = envfloat("QS_SQUASH_EVICT_GRACE_SECONDS", "900")
# --- end of the storage layer block -----------------------------------------------------------
CELERY_BEAT_SCHEDULE = {
    "squash-evict-cache": {
        "task": "quaysquash.squash.tasks.evict_cache",
        "schedule": envfloat("QS_SQUASH_EVICT_INTERVAL_SECONDS", "600"),
    },
}

# --- Proxy organizations (quaysquash.proxy, docs/proxy.md) ---
# A tag checked upstream longer ago than this is re-checked with one HEAD before it is served.
QS_PROXY_STALENESS_SECONDS = envfloat("QS_PROXY_STALENESS_SECONDS", "300")
QS_PROXY_MAX_MANIFEST_BYTES = envint("QS_PROXY_MAX_MANIFEST_BYTES", str(4 * 1024 * 1024))
QS_PROXY_MAX_BLOB_BYTES = envint("QS_PROXY_MAX_BLOB_BYTES", str(20 * 1024**3))
QS_PROXY_UPSTREAM_TIMEOUT_SECONDS = envfloat("QS_PROXY_UPSTREAM_TIMEOUT_SECONDS", "30")
# Cached images nobody pulled for this many days are removed (0 keeps them forever).
QS_PROXY_EXPIRE_DAYS = envfloat("QS_PROXY_EXPIRE_DAYS", "30")
CELERY_BEAT_SCHEDULE["proxy-expire-cached-images"] = {
    "task": "quaysquash.proxy.tasks.expire_cached_images",
    "schedule": envfloat("QS_PROXY_EXPIRE_INTERVAL_SECONDS", "3600"),
}
# --- end proxy organizations ---
