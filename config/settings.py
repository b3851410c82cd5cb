"""Xuewen settings: one module, driven by the environment (12-factor).

Every variable has an embedded default so that a bare checkout runs with no
services: SQLite, the in-memory channel layer, eager Celery tasks and local
files under ``var/``. Production sets ``DATABASE_URL``, ``REDIS_URL`` and the
object-storage variables (see ``.env.example``).
"""

import os
from pathlib import Path
from typing import TypedDict

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("XUEWEN_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-development-key-set-DJANGO_SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "daphne",
    "tutoring.core",  # before the admin: its templates override the admin's (touch targets, labels, Chinese)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "tutoring.schools",
    "tutoring.knowledge",
    "tutoring.accounts",
    "tutoring.questions",
    "tutoring.library",
    "tutoring.routing",
    "tutoring.sessions",
    "tutoring.lectures",
    "tutoring.stipends",
    "tutoring.insights",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tutoring.core.middleware.OutageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
                "frontend.context_processors.lecture_notices",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'xuewen.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# daphne runs each request's ORM work on a fresh thread, so per-thread persistent connections
# (CONN_MAX_AGE > 0) pile up; on PostgreSQL use a pool instead, bounded per process.
if env_int("DATABASE_POOL_MAX_SIZE", 0) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 0),
        "timeout": 10,
    }
# The embedded default, SQLite, serves every socket's and request's thread at once: write-ahead logging lets
# readers go on beside the one writer, and IMMEDIATE transactions take the write lock when they begin. A
# DEFERRED transaction that read first and then writes cannot wait for another writer (its snapshot is stale),
# so it fails with "database is locked" at once, whatever the timeout; an IMMEDIATE one waits its turn.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
# The insights' rollups may be read from a read replica of the same database (their figures are a minute old
# anyway); every write, and every other read, goes to the primary.
if env("REPLICA_DATABASE_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("REPLICA_DATABASE_URL"), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Language and time ----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads ---------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end libraries as the npm registry ships them (package.json), served as they are: no build step.
STATICFILES_DIRS = [("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist")]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploads are minors' data: never served from a public URL, only through
# permission-checked views (local files) or short-lived signed URLs (S3).
MEDIA_URL = None

if env("MEDIA_STORAGE", "local") == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET", "xuewen-media"),
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "access_key": env("S3_ACCESS_KEY_ID"),
            "secret_key": env("S3_SECRET_ACCESS_KEY"),
            "region_name": env("S3_REGION", "us-east-1"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
# Requests beyond this are refused before any file is written.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

# --- Redis: channel layer and Celery broker ---------------------------------------
REDIS_URL = env("REDIS_URL")
CHANNEL_LAYER_PREFIX = env("CHANNEL_LAYER_PREFIX", "xuewen")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.channels.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 reads with a 5 s socket timeout by default, as long as the layer's
                        # blocking BZPOPMIN: every idle consumer would crash every 5 s. Allow more.
                        "socket_timeout": 15,
                        # Connections per web process; beyond them commands wait up to `timeout` seconds.
                        "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 100),
                        "timeout": 20,
                    }
                ],
                "prefix": CHANNEL_LAYER_PREFIX,
                # Messages waiting for one web process (all its sockets share one queue); group_send drops
                # what exceeds it. channels_redis's default of 100 silently lost offers under load.
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000),
            },
        }
    }
    # Shared by every process: throttles and short-lived markers (never data that must survive).
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_LAYER_PREFIX + "-cache",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
# No result backend is configured (Celery's disabled one, which holds no state): one instance per process instead of
# one per thread. Each web request runs in a thread of its own (Django's ThreadSensitiveContext), and building the
# backend scanned the installed packages' entry points: 4 % of a web process's CPU in bench.routing.
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tutoring.questions.tasks.*": {"queue": "media"},
    "tutoring.library.tasks.answer_video_process": {"queue": "media"},
    "tutoring.sessions.tasks.recording_render": {"queue": "media"},
    "tutoring.lectures.tasks.lecture_recording_render": {"queue": "media"},
    "tutoring.lectures.tasks.lecture_slides_render": {"queue": "media"},
    "tutoring.library.tasks.*": {"queue": "matching"},
    "tutoring.insights.tasks.clusters_build_due": {"queue": "matching"},  # encodes the questions that lack a vector
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tutoring.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xuewen API",
    "DESCRIPTION": "Homework questions by text, photo or voice.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Xuewen ---------------------------------------------------------------------


class XuewenSettings(TypedDict):
    """The type of each ``XUEWEN`` value: django-stubs gives ``settings.XUEWEN`` this type."""

    QUESTIONS_PER_MINUTE: int
    MAX_PHOTOS: int
    MAX_PHOTO_BYTES: int
    MAX_IMAGE_PIXELS: int
    MAX_VOICE_BYTES: int
    MAX_VOICE_SECONDS: int
    MAX_TEXT_CHARS: int
    OCR_ENGINE: str
    ASR_MODEL_DIR: str
    MATCHING_MODEL: str
    INDEX_DIR: str
    MATCH_WAIT_SECONDS: float
    MAX_VIDEO_BYTES: int
    MAX_SLIDES: int
    MAX_SLIDES_BYTES: int
    LOW_CONFIDENCE: float
    OFFER_SECONDS: int
    DUTY_HEARTBEAT_SECONDS: int
    DUTY_SILENT_SECONDS: int
    DUTY_VOLUNTEERS: bool
    WIDEN_AFTER_FAILURES: int
    OPEN_OFFERS_SHOWN: int
    ANSWER_MINUTES_ASSUMED: int
    QUEUE_UPDATE_SECONDS: int
    SESSION_ABANDON_SECONDS: int
    SESSION_SILENT_SECONDS: int
    SESSION_MESSAGES_PER_SECOND: int
    RECORDING_APPROVAL: bool
    LECTURE_QUESTIONS_PER_MINUTE: int
    LECTURE_QUESTIONS_PER_LECTURE: int
    LECTURE_ACTIONS_PER_SECOND: int
    LEDGER_IDLE_GAP_SECONDS: int
    LEDGER_MIN_SESSION_SECONDS: int
    INSIGHTS_LIVE_SECONDS: float


XUEWEN: XuewenSettings = {
    "QUESTIONS_PER_MINUTE": env_int("XUEWEN_QUESTIONS_PER_MINUTE", 5),
    "MAX_PHOTOS": env_int("XUEWEN_MAX_PHOTOS", 4),
    "MAX_PHOTO_BYTES": env_int("XUEWEN_MAX_PHOTO_BYTES", 10 * 1024 * 1024),
    "MAX_IMAGE_PIXELS": env_int("XUEWEN_MAX_IMAGE_PIXELS", 40_000_000),
    "MAX_VOICE_BYTES": env_int("XUEWEN_MAX_VOICE_BYTES", 5 * 1024 * 1024),
    "MAX_VOICE_SECONDS": env_int("XUEWEN_MAX_VOICE_SECONDS", 120),
    "MAX_TEXT_CHARS": env_int("XUEWEN_MAX_TEXT_CHARS", 2000),
    "OCR_ENGINE": env("XUEWEN_OCR_ENGINE", "rapidocr"),
    # A CTranslate2 Whisper model folder; empty: the bundled Whisper base, assembled under var/models.
    "ASR_MODEL_DIR": env("XUEWEN_ASR_MODEL_DIR"),
    # The sentence-transformers model: the built-in default, or a model folder on disk
    # (thresholds in matching/ranking.py are calibrated for the default; recalibrate with bench/matching_quality).
    "MATCHING_MODEL": env("XUEWEN_MATCHING_MODEL"),
    "INDEX_DIR": env("XUEWEN_INDEX_DIR", str(VAR_DIR / "index")),
    # How long the match API waits for a matching worker's answer before it answers 503.
    "MATCH_WAIT_SECONDS": float(env("XUEWEN_MATCH_WAIT_SECONDS", "10")),
    "MAX_VIDEO_BYTES": env_int("XUEWEN_MAX_VIDEO_BYTES", 500 * 1024 * 1024),
    # A lecture's slides: pages in all; the bytes of the PDF, or of the pictures together (each a photo).
    "MAX_SLIDES": env_int("XUEWEN_MAX_SLIDES", 60),
    "MAX_SLIDES_BYTES": env_int("XUEWEN_MAX_SLIDES_BYTES", 50 * 1024 * 1024),
    # Below this the student is asked to check the recognised text.
    "LOW_CONFIDENCE": float(env("XUEWEN_LOW_CONFIDENCE", "0.8")),
    # Live routing: how long a teacher has to accept an offer; how often a duty console beats and after how
    # long a silent one goes off duty; whether teachers may go on duty outside their shifts (one student at a
    # time); failed offers before the search widens to the next grade band, then to any teacher of the
    # subject; questions shown at once to a teacher in 抢答 subjects; the answer time assumed for wait
    # estimates until there is history; how often waiting students' positions are refreshed.
    "OFFER_SECONDS": env_int("XUEWEN_OFFER_SECONDS", 20),
    "DUTY_HEARTBEAT_SECONDS": env_int("XUEWEN_DUTY_HEARTBEAT_SECONDS", 10),
    "DUTY_SILENT_SECONDS": env_int("XUEWEN_DUTY_SILENT_SECONDS", 30),
    "DUTY_VOLUNTEERS": env_bool("XUEWEN_DUTY_VOLUNTEERS", False),
    "WIDEN_AFTER_FAILURES": env_int("XUEWEN_WIDEN_AFTER_FAILURES", 3),
    "OPEN_OFFERS_SHOWN": env_int("XUEWEN_OPEN_OFFERS_SHOWN", 5),
    "ANSWER_MINUTES_ASSUMED": env_int("XUEWEN_ANSWER_MINUTES_ASSUMED", 6),
    "QUEUE_UPDATE_SECONDS": env_int("XUEWEN_QUEUE_UPDATE_SECONDS", 2),
    # Sessions: a room nobody has been in for this long ends itself; a socket not heard from (pings every
    # 25 s) for SESSION_SILENT_SECONDS counts as gone; recordings wait for the teacher's approval or not.
    "SESSION_ABANDON_SECONDS": env_int("XUEWEN_SESSION_ABANDON_SECONDS", 300),
    "SESSION_SILENT_SECONDS": env_int("XUEWEN_SESSION_SILENT_SECONDS", 60),
    "SESSION_MESSAGES_PER_SECOND": env_int("XUEWEN_SESSION_MESSAGES_PER_SECOND", 40),
    "RECORDING_APPROVAL": env_bool("XUEWEN_RECORDING_APPROVAL", False),
    # Lectures: a student asks at most this many questions a minute and in all; a viewer's socket sends at most
    # this many questions, upvotes and answers a second (bursts of twice that).
    "LECTURE_QUESTIONS_PER_MINUTE": env_int("XUEWEN_LECTURE_QUESTIONS_PER_MINUTE", 2),
    "LECTURE_QUESTIONS_PER_LECTURE": env_int("XUEWEN_LECTURE_QUESTIONS_PER_LECTURE", 10),
    "LECTURE_ACTIONS_PER_SECOND": env_int("XUEWEN_LECTURE_ACTIONS_PER_SECOND", 3),
    # The workload ledger's counting (tutoring/stipends/ledger.py): a pause in a session longer than this
    # between two board, voice or chat activities is not counted; a session counting less than this counts
    # nothing and is flagged.
    "LEDGER_IDLE_GAP_SECONDS": env_int("XUEWEN_LEDGER_IDLE_GAP_SECONDS", 300),
    "LEDGER_MIN_SESSION_SECONDS": env_int("XUEWEN_LEDGER_MIN_SESSION_SECONDS", 60),
    # The administrators' live view (tutoring/insights/live.py): how often a watched place is counted again and
    # each socket looks for a change; a change shows within about twice this.
    "INSIGHTS_LIVE_SECONDS": float(env("XUEWEN_INSIGHTS_LIVE_SECONDS", "2")),
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # WeasyPrint logs each step of every PDF, and faiss which CPU build it tried, at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("django.channels.server", "weasyprint", "faiss.loader")},
}

CELERY_BEAT_SCHEDULE = {
    "questions-stalled-requeue": {  # understanding whose task was lost
        "task": "tutoring.questions.tasks.questions_stalled_requeue",
        "schedule": 60.0,
    },
    "index-snapshot-save": {
        "task": "tutoring.library.tasks.index_snapshot_save",
        "schedule": 600.0,
    },
    "routing-sweep": {
        "task": "tutoring.routing.tasks.routing_sweep",
        "schedule": 5.0,
    },
    "sessions-sweep": {
        "task": "tutoring.sessions.tasks.sessions_sweep",
        "schedule": 30.0,
    },
    "library-stalled-requeue": {  # matching, tagging and transcoding whose task was lost
        "task": "tutoring.library.tasks.library_stalled_requeue",
        "schedule": 60.0,
    },
    "lectures-stalled-requeue": {  # slides and recordings whose render task was lost
        "task": "tutoring.lectures.tasks.lectures_stalled_requeue",
        "schedule": 60.0,
    },
    "insights-refresh": {  # the rollups of every day something happened to since the last run: a minute's lag
        "task": "tutoring.insights.tasks.insights_refresh",
        "schedule": 60.0,
    },
    "insights-clusters": {  # the hot clusters of the week of the day before, anew (idempotent)
        "task": "tutoring.insights.tasks.clusters_build_due",
        "schedule": 6 * 3600.0,
    },
    "ledger-build": {  # the workload ledger of the last days, anew from the facts
        "task": "tutoring.stipends.tasks.ledger_build_recent",
        "schedule": 3600.0,
    },
    "statements-build": {  # last month's statements while drafts; late facts of frozen months carried on
        "task": "tutoring.stipends.tasks.statements_build_last_month",
        "schedule": 86400.0,
    },
}
