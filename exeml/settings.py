"""Settings from the environment (see README for every variable). No I/O at import."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from exeml.env import env_bool, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
EXEML_HOME = env_path("EXEML_HOME", BASE_DIR / "var")

# Embedded/dev mode: the single-machine default that needs no other server. Secrets get
# defaults only here; a distributed deployment must provide them.
EMBEDDED = env_bool("EXEML_EMBEDDED", default=not env_str("DATABASE_URL"))
DEBUG = env_bool("EXEML_DEBUG", default=False)
SECRET_KEY = env_str("EXEML_SECRET_KEY", "embedded-insecure-key-change-me" if EMBEDDED else None, required=not EMBEDDED)
ALLOWED_HOSTS = env_list("EXEML_ALLOWED_HOSTS", ["*"] if EMBEDDED else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("EXEML_CSRF_TRUSTED_ORIGINS", [])
# Fernet keys for secrets at rest (tenants' S3 secret keys): the first encrypts, all decrypt,
# so a new key goes first and the old one stays until `manage.py rotate_secrets` has run.
# Unset: one key derived from EXEML_SECRET_KEY (set it explicitly outside embedded mode, so
# changing the secret key does not make stored secrets unreadable).
EXEML_FERNET_KEYS = env_list("EXEML_FERNET_KEYS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files from a package, not a CDN: /api/docs/ works with no internet.
    "drf_spectacular_sidecar",
    "exeml.tenancy",
    "exeml.jobs",
    "projects",
    "datasets",
    "labeling",
    "training",
    "serving",
]

MIDDLEWARE = [
    # Outermost: no tenant scope or unscoped() flag survives a request (exeml/api/middleware.py).
    "exeml.api.middleware.TenantScopeGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body: DRF parsers bypass DATA_UPLOAD_MAX_MEMORY_SIZE.
    "exeml.api.middleware.RequestSizeLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A plain warm inference call (token header) is answered here, before the middleware
    # below, which it does not use (serving/middleware.py).
    "serving.middleware.InferenceHotPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The operator's admin requests (views and their template rendering) run inside unscoped().
    "exeml.tenancy.admin.OperatorAdminScopeMiddleware",
]

ROOT_URLCONF = "exeml.urls"
WSGI_APPLICATION = "exeml.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{EXEML_HOME / 'exeml.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database that drops packets must fail a readiness check (and a request) in seconds,
    # not after the system's TCP timeout, so a load balancer takes the replica out.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("EXEML_DB_CONNECT_TIMEOUT_SECONDS", 5)
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # web, worker and beat share one file: WAL lets readers run beside the one writer, and
    # a writer waits (busy timeout) instead of failing at once. Imports commit in small
    # batches (EXEML_IMPORT_BATCH_ROWS), so no writer holds the lock for long.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_float("EXEML_SQLITE_BUSY_TIMEOUT_SECONDS", 20.0),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so a worker subprocess can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(EXEML_HOME / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Every password set through ExeML (create-tenant, set-password, the console's password
# change, the admin) passes these; exeml.tenancy.services.password_check applies them.
AUTH_PASSWORD_VALIDATORS: list[dict] = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("EXEML_PASSWORD_MIN_LENGTH", 10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = EXEML_HOME / "static"
FRONTEND_DIST = env_path("EXEML_FRONTEND_DIST", BASE_DIR / "frontend" / "dist")
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.is_dir() else None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "exeml.api.authentication.ApiTokenAuthentication",
        "exeml.api.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["exeml.api.permissions.RoleAllows"],
    # Deeply nested JSON is a 400 here, not a RecursionError (500) in DRF's parser.
    "DEFAULT_PARSER_CLASSES": [
        "exeml.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "exeml.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "exeml.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Password guessing against the login and token endpoints answers 429 past this rate.
    "DEFAULT_THROTTLE_RATES": {"auth": env_str("EXEML_AUTH_RATE", "60/min")},
}
# Which proxies' X-Forwarded-For names the client (addresses or networks); empty: none,
# the connection's own address is the client (exeml/api/throttling.py).
EXEML_TRUSTED_PROXIES = env_list("EXEML_TRUSTED_PROXIES", [])
# Inference requests: a token checked in the last N seconds is not looked up again (per process),
# unless a token, membership or user changed anywhere meanwhile (exeml/tenancy/tokencache.py).
EXEML_AUTH_CACHE_SECONDS = env_float("EXEML_AUTH_CACHE_SECONDS", 10.0)
# How stale a process's copy of a global generation may be (exeml/generation.py): a token
# revoked through one web process is refused by every other within this time.
EXEML_GENERATION_CHECK_SECONDS = env_float("EXEML_GENERATION_CHECK_SECONDS", 0.5)
# Inference requests: a running service's row is not read again for N seconds (per process);
# a status change anywhere is seen at once through the shared cache (serving/lookup.py). 0 turns it off.
EXEML_SERVICE_LOOKUP_CACHE_SECONDS = env_float("EXEML_SERVICE_LOOKUP_CACHE_SECONDS", 2.0)
# "default": per process. "shared": what every process on every host must agree on (rate
# limits, the generations that invalidate in-memory rows, exeml/generation.py): Redis when
# EXEML_CACHE_URL or the broker names it; on the embedded default (filesystem broker: every
# process on one host) a folder under EXEML_HOME; any other broker without Redis (several
# hosts, no shared folder) a table in the database, made by `exeml migrate`.
_broker_url = env_str("CELERY_BROKER_URL", "filesystem://")
_redis_url = env_str("EXEML_CACHE_URL") or (_broker_url if _broker_url.startswith("redis") else None)
if _redis_url:
    # Bounded waits: a hung Redis makes the hot path fall back to the database (an unreadable
    # generation), never hang every inference request.
    _redis_wait = env_float("EXEML_CACHE_TIMEOUT_SECONDS", 2.0)
    _shared_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url,
                     "KEY_PREFIX": env_str("EXEML_BROKER_KEY_PREFIX", "exeml:"),
                     "OPTIONS": {"socket_timeout": _redis_wait, "socket_connect_timeout": _redis_wait}}
elif _broker_url.startswith("filesystem://"):
    _shared_cache = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                     "LOCATION": str(EXEML_HOME / "cache")}
else:
    _shared_cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "exeml_shared_cache"}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "shared": _shared_cache}
SPECTACULAR_SETTINGS = {
    "TITLE": "ExeML API",
    "DESCRIPTION": "Self-hosted ExeML: projects, datasets, labeling, training, serving.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "exeml.jobs.models.JobStatus",
        "VersionStatusEnum": "training.models.VersionStatus",
        "ServiceStatusEnum": "serving.models.ServiceStatus",
        "SampleStatusEnum": "datasets.models.SampleStatus",
    },
}

# --- Celery -------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = str(EXEML_HOME / "broker")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "processed_folder": str(EXEML_HOME / "broker-processed"),
        # Kombu's default is ./control, relative to wherever a process was started.
        "control_folder": str(EXEML_HOME / "broker-control"),
        "store_processed": False,
    }
else:
    if env_str("EXEML_BROKER_KEY_PREFIX"):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env_str("EXEML_BROKER_KEY_PREFIX")
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # Tasks are acknowledged late: Redis hands an unacknowledged message to another worker
        # after the visibility timeout, so it must outlast the longest allowed training (plus
        # its upload), or a long training would run twice.
        CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int(
            "EXEML_BROKER_VISIBILITY_TIMEOUT_SECONDS",
            int(env_float("EXEML_MAX_TRAIN_MINUTES", 6000) * 60) + 3600,
        )
CELERY_TASK_ALWAYS_EAGER = env_bool("EXEML_TASKS_EAGER", False)
CELERY_BEAT_INTERVAL_SECONDS = env_float("EXEML_BEAT_INTERVAL_SECONDS", 30.0)

# --- Object storage -----------------------------------------------------------------
EXEML_S3_ENDPOINT_URL = env_str("EXEML_S3_ENDPOINT_URL")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "exeml" if EMBEDDED or not EXEML_S3_ENDPOINT_URL else None)
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "exeml-secret" if EMBEDDED or not EXEML_S3_ENDPOINT_URL else None)
EXEML_S3_REGION = env_str("EXEML_S3_REGION", "us-east-1")
EXEML_BUCKET = env_str("EXEML_BUCKET", "exeml")
# The local-folder object store (no EXEML_S3_ENDPOINT_URL): under EXEML_HOME, or a folder every
# host mounts when processes run on several hosts (exeml/checks.py warns otherwise).
EXEML_LOCAL_STORE_ROOT = env_path("EXEML_LOCAL_STORE_ROOT", EXEML_HOME / "objects")
EXEML_MULTIPART_THRESHOLD = env_int("EXEML_MULTIPART_THRESHOLD", 8 * 1024 * 1024)
EXEML_WORK_DIR = EXEML_HOME / "work"
EXEML_ARTIFACT_CACHE = EXEML_HOME / "artifacts"

# --- Limits (REFERENCE.md: defaults of ModelArts ExeML) -----------------------------
EXEML_LIMITS = {
    "image_max_bytes": env_int("EXEML_IMAGE_MAX_BYTES", 5 * 1024 * 1024),
    "sound_max_bytes": env_int("EXEML_SOUND_MAX_BYTES", 4 * 1024 * 1024),
    "text_max_bytes": env_int("EXEML_TEXT_MAX_BYTES", 8 * 1024 * 1024),
    "csv_max_bytes": env_int("EXEML_CSV_MAX_BYTES", 100 * 1024 * 1024),
    "xml_max_bytes": env_int("EXEML_XML_MAX_BYTES", 1024 * 1024),
    "upload_request_max_bytes": env_int("EXEML_UPLOAD_REQUEST_MAX_BYTES", 8 * 1024 * 1024),
    "sound_min_seconds": env_float("EXEML_SOUND_MIN_SECONDS", 1.0),
    "inference_max_bytes": env_int("EXEML_INFERENCE_MAX_BYTES", 8 * 1024 * 1024),
    "inference_timeout_seconds": env_float("EXEML_INFERENCE_TIMEOUT_SECONDS", 40.0),
    # One tenant's bulk import must not starve the others: lines per text/CSV file, samples
    # per dataset (a tenant's Quota may lower or raise the latter).
    "text_max_lines_per_file": env_int("EXEML_TEXT_MAX_LINES_PER_FILE", 100_000),
    "max_samples_per_dataset": env_int("EXEML_MAX_SAMPLES_PER_DATASET", 1_000_000),
}
# An upload small enough to be imported within the request (its answer well under 2 s on a
# busy machine): at most this many files, bytes and rows (a text file's lines; one per
# other file). Anything larger is stored, answered 202 with a job, and imported by a worker.
EXEML_UPLOAD_INLINE = {
    "max_files": env_int("EXEML_UPLOAD_INLINE_MAX_FILES", 20),
    "max_bytes": env_int("EXEML_UPLOAD_INLINE_MAX_BYTES", 1024 * 1024),
    "max_rows": env_int("EXEML_UPLOAD_INLINE_MAX_ROWS", 1000),
}
# A dataset version small enough to be published within the request (its answer well under
# 2 s; measured ~0.8 ms a labelled sample on a busy machine): at most this many labelled
# samples (detection, which writes one VOC file per sample, a tenth of it). A larger one
# answers 202 with a ``dataset_version`` job that a worker runs. Predictive analytics (one
# CSV read and one manifest line) is always published in the request.
EXEML_VERSION_INLINE_MAX_SAMPLES = env_int("EXEML_VERSION_INLINE_MAX_SAMPLES", 1000)
# Test hooks (never on in production): lets a test slow an upload's import down per row,
# through the shared cache, so it can show that the answer comes before the import ends.
EXEML_TEST_HOOKS = env_bool("EXEML_TEST_HOOKS", False)
# Rows written per transaction by imports and batched deletes.
EXEML_IMPORT_BATCH_ROWS = env_int("EXEML_IMPORT_BATCH_ROWS", 1000)
# SQLite: pause between two such batches so a waiting writer gets the lock (exeml/dbutil.py).
EXEML_SQLITE_WRITER_PAUSE_SECONDS = env_float("EXEML_SQLITE_WRITER_PAUSE_SECONDS", 0.15)
# A job whose storage calls get no answer for this long fails with that reason (one call's
# S3 timeouts and retries are bounded to fit in it); meanwhile its detail says it waits.
EXEML_STORAGE_STALL_SECONDS = env_float("EXEML_STORAGE_STALL_SECONDS", 300.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
# Files one upload request may carry (Django's default, 100, refused the SDK's 200-file
# batches with an HTML 400). The request's byte limit still bounds what it holds; the SDK
# and the console send at most 200 per request.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("EXEML_UPLOAD_MAX_FILES_PER_REQUEST", 1000)

# --- Training / serving -------------------------------------------------------------
EXEML_HEARTBEAT_TIMEOUT_SECONDS = env_int("EXEML_HEARTBEAT_TIMEOUT_SECONDS", 120)
EXEML_WORKER_THREADS = env_int("EXEML_WORKER_THREADS", max(1, (os.cpu_count() or 2)))
EXEML_SERVICE_CACHE_SIZE = env_int("EXEML_SERVICE_CACHE_SIZE", 8)
EXEML_MIN_TRAIN_MINUTES = env_float("EXEML_MIN_TRAIN_MINUTES", 6)
EXEML_MAX_TRAIN_MINUTES = env_float("EXEML_MAX_TRAIN_MINUTES", 6000)
# A running training whose heartbeat (every 3 s) is silent this long lost its worker: it goes
# back to the queue (training.services.reap_lost_trainings), checked every N seconds by beat.
EXEML_WORKER_LOST_SECONDS = env_float("EXEML_WORKER_LOST_SECONDS", 15.0)
EXEML_WORKER_LOST_CHECK_SECONDS = env_float("EXEML_WORKER_LOST_CHECK_SECONDS", 5.0)
# A training whose worker stopped goes back to the queue at most this many times.
EXEML_MAX_TRAINING_RESTARTS = env_int("EXEML_MAX_TRAINING_RESTARTS", 2)
# Train preconditions (the guide's): classes needed, labelled samples needed per class.
EXEML_TRAIN_MIN_CLASSES = env_int("EXEML_TRAIN_MIN_CLASSES", 2)
EXEML_TRAIN_MIN_PER_CLASS = {
    "image_classification": env_int("EXEML_TRAIN_MIN_PER_CLASS_IMAGE", 5),
    "sound_classification": env_int("EXEML_TRAIN_MIN_PER_CLASS_SOUND", 5),
    "text_classification": env_int("EXEML_TRAIN_MIN_PER_CLASS_TEXT", 21),  # "more than 20"
    "object_detection": env_int("EXEML_TRAIN_MIN_PER_CLASS_DETECTION", 1),
}
# Service auto stop: on by default after 1 h; the console offers 1/2/4/6 h or a custom 1–24 h.
EXEML_AUTO_STOP_DEFAULT_HOURS = env_float("EXEML_AUTO_STOP_DEFAULT_HOURS", 1.0)
EXEML_AUTO_STOP_MIN_HOURS = env_float("EXEML_AUTO_STOP_MIN_HOURS", 1.0)
EXEML_AUTO_STOP_MAX_HOURS = env_float("EXEML_AUTO_STOP_MAX_HOURS", 24.0)
# Batch prediction: files per job and bytes per input file.
EXEML_BATCH_PREDICTION_MAX_FILES = env_int("EXEML_BATCH_PREDICTION_MAX_FILES", 100_000)
EXEML_BATCH_PREDICTION_MAX_FILE_BYTES = env_int("EXEML_BATCH_PREDICTION_MAX_FILE_BYTES", 100 * 1024 * 1024)
# Idle stop: a service may also stop after N minutes without calls (off unless asked for).
# EXEML_IDLE_UNIT_SECONDS is how long one of those "minutes" lasts: 60, shortened only by tests.
EXEML_IDLE_STOP_MIN_MINUTES = env_int("EXEML_IDLE_STOP_MIN_MINUTES", 5)
EXEML_IDLE_STOP_MAX_MINUTES = env_int("EXEML_IDLE_STOP_MAX_MINUTES", 1440)
EXEML_IDLE_UNIT_SECONDS = env_float("EXEML_IDLE_UNIT_SECONDS", 60.0)
EXEML_DEFAULT_STORAGE_QUOTA_BYTES = env_int("EXEML_DEFAULT_STORAGE_QUOTA_BYTES", 50 * 1024**3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("EXEML_LOG_LEVEL", "INFO")},
    "loggers": {"werkzeug": {"level": "WARNING"}, "botocore": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the console reads it to send X-CSRFToken
LOGIN_URL = "/login"
