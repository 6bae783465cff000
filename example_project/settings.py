"""Settings of the example shop.

Dintero credentials and hosts come from the environment, so the same project
runs against the built-in emulator (the demo) or the real Dintero:
DINTERO_ACCOUNT_ID, DINTERO_CLIENT_ID, DINTERO_CLIENT_SECRET, DINTERO_API_URL,
DINTERO_CHECKOUT_URL, DINTERO_PROFILE_ID, DINTERO_SIGNATURE_SECRET, DINTERO_SITE_URL.
Tasks run in-process unless CELERY_BROKER_URL is set (e.g. redis://127.0.0.1:6379/0).
``python3 example_project/demo.py`` sets all of these for the emulator; see
docs/production.md for running the same project against the real Dintero.
With none of the connection variables set, ``python manage.py runserver`` (or
``check``, ``migrate``) talks to the emulator with its own defaults, at
http://127.0.0.1:8765 (``python -m dintero_django.emulator``), and says so at
start-up (system check shop.I001).
"""

import os
from pathlib import Path

from dintero_django.emulator.app import DEFAULT_ACCOUNT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


SECRET_KEY = env("DJANGO_SECRET_KEY", "example-only-insecure-key")
DEBUG = env("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = [host for host in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if host]
# Behind an HTTPS proxy or tunnel (running against the real Dintero, docs/production.md):
# DJANGO_CSRF_TRUSTED_ORIGINS=https://shop.example.com DJANGO_BEHIND_TLS_PROXY=1
CSRF_TRUSTED_ORIGINS = [origin for origin in env("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if origin]
if env("DJANGO_BEHIND_TLS_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "dintero_django",
    "example_project.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The customer's and the staff's language (Accept-Language, or the admin's choice); the
    # customer's is also the checkout's language (docs/adapters.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

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

if env("DATABASE_URL").startswith("postgres"):
    from urllib.parse import urlsplit

    _db = urlsplit(env("DATABASE_URL"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.path.lstrip("/"),
            "USER": _db.username or "postgres",
            "PASSWORD": _db.password or "",
            "HOST": _db.hostname or "127.0.0.1",
            "PORT": _db.port or 5432,
        }
    }
else:
    # The demo's database lives in example_project/demo-data/ (gitignored).
    DEMO_DATA = Path(__file__).resolve().parent / "demo-data"
    DEMO_DATA.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("DEMO_SQLITE", str(DEMO_DATA / "demo.sqlite3")),
            # Web server, emulator callbacks and a worker write concurrently.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
#: Dintero's checkout speaks each of these; dintero_django ships en and nb (docs/i18n.md:
#: adding sv, da, fi), so other languages see the app's own pages in English.
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål"), ("sv", "Svenska"), ("da", "Dansk"), ("fi", "Suomi")]
TIME_ZONE = "Europe/Oslo"
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "/admin/login/"

#: The variables that connect the shop to a Dintero (real or emulated). With none of
#: them set, the shop uses the emulator's defaults (``python -m dintero_django.emulator``).
DINTERO_CONNECTION_VARIABLES = (
    "DINTERO_CLIENT_ID",
    "DINTERO_CLIENT_SECRET",
    "DINTERO_API_URL",
    "DINTERO_CHECKOUT_URL",
)
DINTERO_EMULATOR_DEFAULTS = not any(env(name) for name in DINTERO_CONNECTION_VARIABLES)
_emulator = f"http://127.0.0.1:{env('DINTERO_EMULATOR_PORT', '8765')}"
_fallback = {
    "ACCOUNT_ID": DEFAULT_ACCOUNT_ID,
    "CLIENT_ID": DEFAULT_CLIENT_ID if DINTERO_EMULATOR_DEFAULTS else "",
    "CLIENT_SECRET": DEFAULT_CLIENT_SECRET if DINTERO_EMULATOR_DEFAULTS else "",
    "API_URL": _emulator if DINTERO_EMULATOR_DEFAULTS else "https://api.dintero.com",
    "CHECKOUT_URL": _emulator if DINTERO_EMULATOR_DEFAULTS else "https://checkout.dintero.com",
}

DINTERO = {
    "ACCOUNT_ID": env("DINTERO_ACCOUNT_ID", _fallback["ACCOUNT_ID"]),
    "CLIENT_ID": env("DINTERO_CLIENT_ID", _fallback["CLIENT_ID"]),
    "CLIENT_SECRET": env("DINTERO_CLIENT_SECRET", _fallback["CLIENT_SECRET"]),
    "API_URL": env("DINTERO_API_URL", _fallback["API_URL"]),
    "CHECKOUT_URL": env("DINTERO_CHECKOUT_URL", _fallback["CHECKOUT_URL"]),
    "PROFILE_ID": env("DINTERO_PROFILE_ID", "default"),
    "SIGNATURE_SECRET": [s for s in env("DINTERO_SIGNATURE_SECRET").split(",") if s],
    "SITE_URL": env("DINTERO_SITE_URL", "http://127.0.0.1:8000"),
    # Behind a proxy: the public hostname Dintero signs callbacks for.
    "CALLBACK_HOSTNAME": env("DINTERO_CALLBACK_HOSTNAME"),
    # The built-in return view sends the customer to the shop's order page.
    "RESULT_URL": "/order/{order}/",
    # Storefront orders are priced from the shop's catalogue, never by the browser.
    "ADAPTER": "example_project.shop.adapters.CatalogueOrderAdapter",
    "RECONCILE_AFTER": 60,
}

SHOP_CURRENCY = env("SHOP_CURRENCY", "NOK")
#: "redirect": the customer goes to Dintero's payment page; "embedded": it is shown in
#: the shop's own /pay/<order>/ page with Dintero's Web SDK ({% dintero_checkout %});
#: "popout": that page offers the SDK's pop-out window instead.
SHOP_CHECKOUT_MODE = env("SHOP_CHECKOUT_MODE", "redirect")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_RATES": {"dintero_orders": "120/min"},
    # Throttle by the real client address: the number of proxies in front of Django
    # (0: REMOTE_ADDR; never the client's own X-Forwarded-For). docs/rest-api.md.
    "NUM_PROXIES": int(env("DJANGO_NUM_PROXIES", "0")),
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Example shop API (dintero-django)",
    "VERSION": "1",
    # The schema maps the staff money endpoints too: logged-in users only (docs/rest-api.md).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Without a broker the demo runs tasks in-process, right after commit.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "dintero-reconcile": {"task": "dintero.reconcile", "schedule": 120.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # propagate=False: under Celery the root logger prints too (lines twice).
        "dintero_django": {
            "handlers": ["console"],
            "level": env("DINTERO_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        "example_project": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
