"""MedService settings, read from the environment with safe embedded defaults.

Embedded mode (no DATABASE_URL) keeps everything under var/: a SQLite database in WAL mode,
the generated secret key, uploaded files. Production sets DATABASE_URL, SECRET_KEY,
ALLOWED_HOSTS and the field-encryption key, and runs `medservice check --deploy` clean.
"""

from __future__ import annotations

import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent.parent
CHECKOUT_DIR = PACKAGE_DIR.parent.parent
# A source checkout keeps its data in its own var/, wherever the command is started from.
DEFAULT_VAR_DIR = (
    CHECKOUT_DIR / "var" if (CHECKOUT_DIR / "pyproject.toml").exists() else Path.cwd() / "var"
)
VAR_DIR = Path(env("MEDSERVICE_VAR_DIR", str(DEFAULT_VAR_DIR)))
TESTING = "pytest" in sys.modules or env_bool("MEDSERVICE_TESTING")

DEBUG = env_bool("DEBUG", False)
MEDSERVICE_DEMO = env_bool("MEDSERVICE_DEMO", False)
DATABASE_URL = env("DATABASE_URL")
EMBEDDED = DATABASE_URL is None or DATABASE_URL.startswith("sqlite")


def _secret_key() -> str:
    configured = env("SECRET_KEY")
    if configured:
        return configured
    if not EMBEDDED and not TESTING:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL points to a server database."
        )
    # Embedded mode keeps one generated key under var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# How many reverse proxies stand in front (0: trust REMOTE_ADDR only, X-Forwarded-For ignored).
NUM_PROXIES = int(env("NUM_PROXIES", "0") or 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    # Domain apps, in import order: earlier apps never import later ones.
    "medservice.core",
    "medservice.accounts",
    "medservice.customers",
    "medservice.catalog",
    "medservice.installed_base",
    "medservice.training",
    "medservice.tickets",
    "medservice.inventory",
    "medservice.work_orders",
    "medservice.quality",
    "medservice.returns",
    "medservice.maintenance",
    "medservice.feedback",
    "medservice.analytics",
]
if "pytest" in sys.modules:
    # Models that exercise core's abstract bases (retention, signatures) in tests only.
    INSTALLED_APPS.append("tests.testapp")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "medservice.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "medservice.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "medservice.core.middleware.OutOfRangeMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medservice.config.urls"
WSGI_APPLICATION = "medservice.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "medservice.core.context_processors.shell",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    sqlite_path = (
        DATABASE_URL.removeprefix("sqlite:///")
        if DATABASE_URL
        else str(VAR_DIR / "medservice.sqlite3")
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": sqlite_path,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so a writer waits (busy timeout)
                # instead of failing half-way with "database is locked" on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=30000;"
                ),
            },
            # A file, not memory: concurrency tests need WAL and the busy timeout.
            # One file per test run, so two runs in one checkout never share it.
            "TEST": {"NAME": env("SQLITE_TEST_NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))},
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"].setdefault("OPTIONS", {})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    cache_url = REDIS_URL
    if TESTING:
        # Each pytest-xdist worker flushes its own Redis database, never another's.
        worker = env("PYTEST_XDIST_WORKER", "gw0") or "gw0"
        cache_url = f"{REDIS_URL.rsplit('/', 1)[0]}/{1 + int(worker.removeprefix('gw') or 0) % 14}"
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Shared by the web workers of one machine, so rate limits count every request.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Background tasks -----------------------------------------------------------------------
TASK_BACKEND = env("TASK_BACKEND", "database")
if TESTING and TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASK_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "medservice.accounts.backends.UsernameOrEmailBackend",
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
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("AXES_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "medservice.accounts.views.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "medservice.core.middleware.client_address"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365  # a language picked in the navbar outlives the session
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
if EMBEDDED or TESTING:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)


def _bootstrap_dir() -> Path:
    from xstatic.pkg import bootstrap

    return Path(bootstrap.BASE_DIR)


STATICFILES_DIRS = [("bootstrap", _bootstrap_dir())]
# Single files from Python packages (decision 0013): Plotly's bundle, as plotly/plotly.min.js.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "medservice.core.staticfinders.PackageFileFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING or DEBUG or EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# The embedded server serves static files straight from the packages, no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "MedService <service@medservice.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MEDSERVICE_SMS_BACKEND = env("SMS_BACKEND", "medservice.core.messaging.LoggingMessageBackend")

# --- Personal-data encryption ---------------------------------------------------------------
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")
if not FIELD_ENCRYPTION_KEY:
    if not (MEDSERVICE_DEMO or TESTING):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set outside demo mode: personal data is encrypted "
            "at rest with it. Set it to a long random value and keep it safe (losing it loses "
            "the data); MEDSERVICE_DEMO=1 runs a demo with a derived key."
        )
    # A demo (and the test suite) derives a key of its own from the secret key.
    FIELD_ENCRYPTION_KEY = f"derived:{SECRET_KEY}"

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie.
SECURE_HTTPS = env_bool("SECURE_HTTPS", not (DEBUG or EMBEDDED or TESTING))
if SECURE_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["medservice.core.api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "medservice.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "medservice.core.api.schema.MedServiceAutoSchema",
    "EXCEPTION_HANDLER": "medservice.core.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "token": env("TOKEN_RATE", "20/minute"),
        "login": env("LOGIN_RATE", "20/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MedService API",
    "DESCRIPTION": "After-sales service, quality and regulatory records for medical devices.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # issue 12 fuzzing: every operation documents the error answers the API gives.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "medservice.core.api.schema.add_error_responses",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One schema name per choice set: several records have a "kind" or a "status".
    "ENUM_NAME_OVERRIDES": {
        # issue 11 analytics
        # The KPI API's answer: its figures (200) or "being computed" (202).
        "KpiReadyStatusEnum": ["ready"],
        "KpiComputingStatusEnum": ["computing"],
        "EvaluationReportKindEnum": "medservice.analytics.models.ReportKind",
        "SpotCheckSeverityEnum": "medservice.analytics.choices.SpotCheckSeverity",
        "AccidentSeverityEnum": "medservice.quality.choices.AccidentSeverity",
        # issue 10 maintenance
        "PmIntervalSourceEnum": "medservice.maintenance.choices.PmIntervalSource",
        "PmVisitStatusEnum": "medservice.maintenance.choices.PmVisitStatus",
        "InstallationStatusEnum": "medservice.maintenance.choices.InstallationStatus",
        "AcceptanceFileKindEnum": "medservice.maintenance.choices.AcceptanceFileKind",
        "TrainingFileKindEnum": "medservice.maintenance.choices.TrainingFileKind",
        "SuggestionStatusEnum": "medservice.maintenance.choices.SuggestionStatus",
        "ReturnStatusEnum": "medservice.returns.choices.ReturnStatus",
        "ReturnChannelEnum": "medservice.returns.choices.ReturnChannel",
        "ReturnReasonEnum": "medservice.returns.choices.ReturnReason",
        "ReturnFileKindEnum": "medservice.returns.choices.FileKind",
        "ReturnDecisionEnum": "medservice.returns.choices.Decision",
        "RefundMethodEnum": "medservice.returns.choices.RefundMethod",
        "WarrantyModeEnum": "medservice.returns.choices.WarrantyMode",
        "ItemConditionEnum": "medservice.returns.choices.ItemCondition",
        "PaymentMethodEnum": "medservice.work_orders.choices.PaymentMethod",
        "CaseStatusEnum": "medservice.quality.choices.CaseStatus",
        "CaseSourceEnum": "medservice.quality.choices.CaseSource",
        "DecisionOutcomeEnum": "medservice.quality.choices.DecisionOutcome",
        "InvestigationKindEnum": "medservice.quality.choices.InvestigationKind",
        "RecallKindEnum": "medservice.quality.choices.RecallKind",
        "CapaKindEnum": "medservice.quality.choices.CapaKind",
        "ReportKindEnum": "medservice.quality.choices.ReportKind",
        "HarmEnum": "medservice.quality.choices.Harm",
        "MarketEnum": "medservice.quality.choices.Market",
        "FeedbackChannelEnum": "medservice.quality.choices.FeedbackChannel",
        "MessageChannelEnum": "medservice.quality.choices.MessageChannel",
        "NoticeChannelEnum": "medservice.quality.choices.NoticeChannel",
        "RecallNoticeChannelEnum": "medservice.quality.choices.RecallNoticeChannel",
        "SubmissionChannelEnum": "medservice.quality.choices.SubmissionChannel",
        "RootCauseMethodEnum": "medservice.quality.choices.RootCauseMethod",
        "VerificationResultEnum": "medservice.quality.choices.VerificationResult",
        "SexEnum": "medservice.tickets.choices.Sex",
        "ServiceResultEnum": "medservice.work_orders.choices.ServiceResult",
        "RemoteOutcomeEnum": "medservice.work_orders.choices.RemoteOutcome",
        "ChargeCategoryEnum": "medservice.work_orders.choices.ChargeCategory",
        "WorkOrderStatusEnum": "medservice.work_orders.choices.WorkOrderStatus",
        "WorkOrderKindEnum": "medservice.work_orders.choices.WorkOrderKind",
        "RouteEnum": "medservice.work_orders.choices.Route",
        "DecisionMethodEnum": "medservice.work_orders.choices.DecisionMethod",
        "VisitStatusEnum": "medservice.work_orders.choices.VisitStatus",
        "QuoteStatusEnum": "medservice.work_orders.choices.QuoteStatus",
        "PaymentStatusEnum": "medservice.work_orders.choices.PaymentStatus",
        "OrganizationKindEnum": "medservice.customers.choices.OrganizationKind",
        "HospitalGradeEnum": "medservice.customers.choices.HospitalGrade",
        "RiskClassEnum": "medservice.catalog.choices.RiskClass",
        "ProductTypeEnum": "medservice.catalog.choices.ProductType",
        "TrackingEnum": "medservice.catalog.choices.Tracking",
        "LicenceKindEnum": "medservice.catalog.choices.LicenceKind",
        "ValidityStatusEnum": "medservice.catalog.choices.ValidityStatus",
        "ImportStatusEnum": "medservice.core.models.ImportJob.Status",
        "DeviceStatusEnum": "medservice.installed_base.choices.DeviceStatus",
        "HoldScopeEnum": "medservice.installed_base.choices.HoldScope",
        "HoldKindEnum": "medservice.installed_base.choices.HoldKind",
        "ContractKindEnum": "medservice.installed_base.choices.ContractKind",
        "SlaTierEnum": "medservice.installed_base.choices.SlaTier",
        "CostCategoryEnum": "medservice.installed_base.choices.CostCategory",
        "ExclusionEnum": "medservice.installed_base.choices.Exclusion",
        "AuditActionEnum": "medservice.core.choices.AuditAction",
        "TicketKindEnum": "medservice.tickets.choices.TicketKind",
        "TicketStatusEnum": "medservice.tickets.choices.Status",
        "TicketChannelEnum": "medservice.tickets.choices.Channel",
        "TicketPriorityEnum": "medservice.tickets.choices.Priority",
        "TimelineKindEnum": "medservice.tickets.choices.TimelineKind",
        "SlaTargetEnum": "medservice.tickets.choices.SlaTarget",
        "CountingEnum": "medservice.tickets.choices.Counting",
        "ConditionEnum": "medservice.inventory.choices.Condition",
        "PlanPeriodEnum": "medservice.training.choices.PlanPeriod",
        "TopicCategoryEnum": "medservice.training.choices.TopicCategory",
        "SessionStatusEnum": "medservice.training.choices.SessionStatus",
        "ArticleKindEnum": "medservice.training.choices.ArticleKind",
        "VisibilityEnum": "medservice.training.choices.Visibility",
        "ArticleStatusEnum": "medservice.training.choices.ArticleStatus",
        "DocumentKindEnum": "medservice.training.choices.DocumentKind",
        "DocumentVersionStatusEnum": "medservice.training.choices.DocumentVersionStatus",
        "ViolationStatusEnum": "medservice.training.choices.ViolationStatus",
        "PartTrackingEnum": "medservice.inventory.choices.PartTracking",
        "LocationKindEnum": "medservice.inventory.choices.LocationKind",
        "MovementKindEnum": "medservice.inventory.choices.MovementKind",
        "PurchaseOrderStatusEnum": "medservice.inventory.choices.PurchaseOrderStatus",
        "RequisitionStatusEnum": "medservice.inventory.choices.RequisitionStatus",
        "StockCountStatusEnum": "medservice.inventory.choices.StockCountStatus",
        "InstrumentKindEnum": "medservice.inventory.choices.InstrumentKind",
        "InstrumentStatusEnum": "medservice.inventory.choices.InstrumentStatus",
        "CalibrationResultEnum": "medservice.inventory.choices.CalibrationResult",
        # issue 10 follow-ups and surveys
        "FollowUpKindEnum": "medservice.feedback.choices.FollowUpKind",
        "FollowUpStatusEnum": "medservice.feedback.choices.FollowUpStatus",
        "FollowUpOutcomeEnum": "medservice.feedback.choices.FollowUpOutcome",
        "CustomerVisitKindEnum": "medservice.feedback.choices.VisitKind",
        "CustomerVisitStatusEnum": "medservice.feedback.choices.VisitStatus",
        "ConcernedDepartmentEnum": "medservice.feedback.choices.ConcernedDepartment",
        "OpinionStatusEnum": "medservice.feedback.choices.OpinionStatus",
        "SurveyQuestionKindEnum": "medservice.feedback.choices.QuestionKind",
        "SurveySubjectEnum": "medservice.feedback.choices.SurveySubject",
        "SurveyChannelEnum": "medservice.feedback.choices.SurveyChannel",
        "SurveyStatusEnum": "medservice.feedback.choices.SurveyStatus",
        "SurveyEscalationStatusEnum": "medservice.feedback.choices.EscalationStatus",
    },
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # WeasyPrint reports each layout step at INFO: noise in every PDF a job writes.
        "weasyprint": {"level": "WARNING"},
    },
}

# --- MedService -----------------------------------------------------------------------------
MEDSERVICE_SCHEDULER_TICK_SECONDS = float(env("SCHEDULER_TICK_SECONDS", "5"))
MEDSERVICE_DEFAULT_USER_TIME_ZONE = TIME_ZONE
# The address printed on device QR labels (what a phone opens), and the hotline shown there.
MEDSERVICE_PUBLIC_URL = env("PUBLIC_URL", "http://127.0.0.1:8000")
MEDSERVICE_SERVICE_PHONE = env("SERVICE_PHONE", "400-820-0000")
# The service mailbox read by the e-mail intake job every 2 minutes (nothing is read while
# IMAP_HOST is empty). IMAP_SSL=1 (default) uses implicit TLS on port 993, 0 plain IMAP on 143.
MEDSERVICE_IMAP_HOST = env("IMAP_HOST", "")
MEDSERVICE_IMAP_SSL = env_bool("IMAP_SSL", True)
MEDSERVICE_IMAP_PORT = int(env("IMAP_PORT", "993" if MEDSERVICE_IMAP_SSL else "143"))
MEDSERVICE_IMAP_USER = env("IMAP_USER", "")
MEDSERVICE_IMAP_PASSWORD = env("IMAP_PASSWORD", "")
MEDSERVICE_IMAP_FOLDER = env("IMAP_FOLDER", "INBOX")
# Service requests (the procedures' defaults; docs/sla.md): a resolved request is reminded
# after 3 days without the customer's answer and closed after 7; a finished request can be
# reopened within 30 days; the public fault-report forms take 5 reports an hour per address.
MEDSERVICE_TICKET_CONFIRM_REMIND_DAYS = int(env("TICKET_CONFIRM_REMIND_DAYS", "3"))
MEDSERVICE_TICKET_AUTO_CLOSE_DAYS = int(env("TICKET_AUTO_CLOSE_DAYS", "7"))
MEDSERVICE_TICKET_REOPEN_DAYS = int(env("TICKET_REOPEN_DAYS", "30"))
MEDSERVICE_PUBLIC_REPORT_RATE = env("PUBLIC_REPORT_RATE", "5/hour")
MEDSERVICE_ATTACHMENT_MAX_MB = int(env("ATTACHMENT_MAX_MB", "25"))
# Spare parts: the warehouse is warned this many days before a part lot in stock expires.
MEDSERVICE_PART_EXPIRY_WARNING_DAYS = int(env("PART_EXPIRY_WARNING_DAYS", "60"))
# Staff certification: how long a certification earned by passing lasts unless the session says
# otherwise, and how many days before its end the person and their manager are reminded.
MEDSERVICE_CERTIFICATION_MONTHS = int(env("CERTIFICATION_MONTHS", "24"))
MEDSERVICE_CERTIFICATION_REMIND_DAYS = int(env("CERTIFICATION_REMIND_DAYS", "30"))

# --- Stores, out-of-stock register, correspondence (issue 10, feedback app) -----------------
# A store's opinion book must be reviewed every day by its closing time (the store profile's),
# or by this time ("HH:MM") when the profile names none; the days are the stores' own, in
# FEEDBACK_STORE_TIME_ZONE.
FEEDBACK_OPINION_REVIEW_DEADLINE = env("FEEDBACK_OPINION_REVIEW_DEADLINE", "20:00")
FEEDBACK_STORE_TIME_ZONE = env("FEEDBACK_STORE_TIME_ZONE", "Asia/Shanghai")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "OpinionCategoryEnum": "medservice.feedback.choices.OpinionCategory",
        "ShortageStatusEnum": "medservice.feedback.choices.ShortageStatus",
        "LetterKindEnum": "medservice.feedback.choices.LetterKind",
        "LetterDirectionEnum": "medservice.feedback.choices.LetterDirection",
    }
)
# --- Maintenance (issue 10: PM, installation and acceptance, operator training) --------------
# The PM work order is opened this many days before the plan's due date (once per due date);
# deliveries of the last MAINTENANCE_INSTALLATION_LOOKBACK_DAYS days get installation orders.
MAINTENANCE_PM_LEAD_DAYS = int(env("MAINTENANCE_PM_LEAD_DAYS", "14"))
MAINTENANCE_INSTALLATION_LOOKBACK_DAYS = int(env("MAINTENANCE_INSTALLATION_LOOKBACK_DAYS", "30"))

# Feedback — follow-ups and surveys (issue 10): a closed request is followed up by a call within
# 30 days (SOP-4), a repair by a use check within 7; a follow-up closes as "not reached" after 3
# tries; a survey link lasts 14 days; a score <= 2 (of 5) or a recommendation <= 6 (of 10) asks
# the service manager to act within 3 days; every customer is surveyed once every 12 months; the
# public survey page takes 30 submissions an hour per address.
FEEDBACK_FOLLOW_UP_DAYS = int(env("FEEDBACK_FOLLOW_UP_DAYS", "30"))
FEEDBACK_REPAIR_CHECK_DAYS = int(env("FEEDBACK_REPAIR_CHECK_DAYS", "7"))
FEEDBACK_FOLLOW_UP_MAX_ATTEMPTS = int(env("FEEDBACK_FOLLOW_UP_MAX_ATTEMPTS", "3"))
FEEDBACK_SURVEY_LINK_DAYS = int(env("FEEDBACK_SURVEY_LINK_DAYS", "14"))
FEEDBACK_SURVEY_LOW_SCORE = int(env("FEEDBACK_SURVEY_LOW_SCORE", "2"))
FEEDBACK_SURVEY_LOW_RECOMMENDATION = int(env("FEEDBACK_SURVEY_LOW_RECOMMENDATION", "6"))
FEEDBACK_SURVEY_ESCALATION_DAYS = int(env("FEEDBACK_SURVEY_ESCALATION_DAYS", "3"))
FEEDBACK_PERIODIC_SURVEY_MONTHS = int(env("FEEDBACK_PERIODIC_SURVEY_MONTHS", "12"))
FEEDBACK_SURVEY_RATE = env("FEEDBACK_SURVEY_RATE", "30/hour")

# issue 11 analytics
# The company's own cost of an hour of an engineer's work, labour or travel (¥ per hour):
# the cost-of-service KPI multiplies TimeEntry.hours by it. RateCard.labour_rate is the price
# charged to customers, not this. 0 (time counts as nothing) until finance sets it.
ANALYTICS_HOURLY_COST = Decimal(env("ANALYTICS_HOURLY_COST", "0"))
# The KPI page, the API and the charts show a stored figure up to this many seconds old (the
# job analytics.kpi-snapshots refreshes the figures people read every 5 minutes); an older one
# is computed by the task analytics.kpi_figures_compute while the reader is told to come back
# (202, or a page that reloads itself). 0 turns the stored figures off: every figure is
# computed live, in the request — for installs that run no worker, and the tests (which turn
# it on where they test the stored figures).
ANALYTICS_SNAPSHOT_MAX_AGE = int(env("ANALYTICS_SNAPSHOT_MAX_AGE", "0" if TESTING else "900"))
# How long one run of that job may spend recomputing before it leaves the rest to the next.
ANALYTICS_SNAPSHOT_BUDGET = int(env("ANALYTICS_SNAPSHOT_BUDGET", "240"))

# issue 12 intake
# Requests an integration account (call centre, WeChat bridge) may send to the inbound intake
# API per period, counted per account ("120/minute"; second, minute, hour or day).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["intake"] = env("INTAKE_RATE", "120/minute")

# --- Backups (issue 12) ---
# `medservice backup` / `medservice restore` (docs/operations.md, "Backups and restore"). The
# job core.backup writes one archive a day into BACKUP_DIR while BACKUP_SCHEDULE is on, then
# keeps the newest archive of each of the last 7 days, 4 weeks and 12 months and deletes the
# other dated archives there. The archives are encrypted when MEDSERVICE_BACKUP_KEY is set in
# the environment (read from the environment only, never stored in settings).
BACKUP_DIR = Path(env("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_SCHEDULE = env_bool("BACKUP_SCHEDULE", False)
BACKUP_KEEP_DAILY = int(env("BACKUP_KEEP_DAILY", "7"))
BACKUP_KEEP_WEEKLY = int(env("BACKUP_KEEP_WEEKLY", "4"))
BACKUP_KEEP_MONTHLY = int(env("BACKUP_KEEP_MONTHLY", "12"))

# --- Webhooks (issue 12) ---
# The integrations app sits right after customers in the import order: the later domain apps
# (tickets, work orders, quality) publish their events through it.
INSTALLED_APPS.insert(INSTALLED_APPS.index("medservice.customers") + 1, "medservice.integrations")
# Outbound webhooks (integrations app): each attempt waits this many seconds for an answer; a
# failed delivery is retried after BASE × 2^(attempt − 1) seconds, at most MAX seconds apart,
# up to MAX_ATTEMPTS attempts; a subscription is disabled (and its owner told) after
# DISABLE_AFTER failed attempts in a row. Receivers on private, loopback or link-local
# addresses are refused (SSRF) unless WEBHOOKS_ALLOW_PRIVATE is set (a receiver on the same
# internal network; the tests' local receiver). Delivered and failed deliveries are deleted from
# the delivery log RETENTION_DAYS after their last attempt (a daily job, audited with the count);
# pending ones are kept until they are delivered or fail.
WEBHOOKS_TIMEOUT_SECONDS = float(env("WEBHOOKS_TIMEOUT_SECONDS", "10"))
WEBHOOKS_RETRY_BASE_SECONDS = int(env("WEBHOOKS_RETRY_BASE_SECONDS", "60"))
WEBHOOKS_RETRY_MAX_SECONDS = int(env("WEBHOOKS_RETRY_MAX_SECONDS", str(6 * 3600)))
WEBHOOKS_MAX_ATTEMPTS = int(env("WEBHOOKS_MAX_ATTEMPTS", "12"))
WEBHOOKS_DISABLE_AFTER = int(env("WEBHOOKS_DISABLE_AFTER", "10"))
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
WEBHOOKS_DELIVERY_RETENTION_DAYS = int(env("WEBHOOKS_DELIVERY_RETENTION_DAYS", "90"))
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "WebhookEventTypeEnum": "medservice.integrations.choices.EventType",
        "WebhookDeliveryStateEnum": "medservice.integrations.choices.DeliveryState",
    }
)

# --- Security (issue 12) ---
# 等保 2.0: security logs (sign-ins, failed sign-ins, lockouts) are kept at least 180 days; the
# job accounts.security-logs-prune deletes only older ones, and a system check refuses less.
SECURITY_LOG_RETENTION_DAYS = int(env("SECURITY_LOG_RETENTION_DAYS", "190"))
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # failed sign-ins are security log entries too
# No password, token, phone or ID number reaches a log handler (core/logfilters.py).
LOGGING["filters"] = {"redact": {"()": "medservice.core.logfilters.RedactingFilter"}}
for _handler in LOGGING["handlers"].values():
    _handler["filters"] = [*_handler.get("filters", []), "redact"]
# Uploaded files served back (attachments, media): only these types are shown in the browser;
# anything else is downloaded (Content-Disposition: attachment), never rendered as a page.
MEDSERVICE_INLINE_SAFE_TYPES = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
]
# Inside the content-policy middleware, so a file's own policy is the one it keeps.
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1,
    "medservice.core.middleware.FileResponseSecurityMiddleware",
)
# The public "forgot password" form sends e-mail: 5 requests an hour per address.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_reset"] = env("PASSWORD_RESET_RATE", "5/hour")
# --- Several machines (issue 12) ---
# Uploaded and generated files (attachments, scans, signed reports, evaluation reports) all go
# through Django's default storage: the local MEDIA_ROOT ("filesystem", one machine or a shared
# mount) or an S3-compatible bucket ("s3": AWS S3, MinIO, Ceph, OSS/COS S3 endpoints), which
# every web process and worker on every machine reads alike. The S3 keys are read by boto3 from
# the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or its other usual sources.
STORAGE_BACKEND = env("STORAGE_BACKEND", "filesystem")
if STORAGE_BACKEND == "s3":
    if not env("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME.")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            # Unset for AWS itself; http(s)://host:port for MinIO, Ceph or a local moto server.
            "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
            "region_name": env("AWS_S3_REGION_NAME"),
            # A key prefix inside the bucket, so one bucket can hold several installations.
            "location": env("AWS_LOCATION", ""),
            # "path" for most self-hosted servers; unset lets boto3 choose (virtual hosts on AWS).
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE"),
            "signature_version": env("AWS_S3_SIGNATURE_VERSION", "s3v4"),
            # Two uploads with one name must both be kept (Django's own rule), never overwritten.
            "file_overwrite": False,
            # Objects stay private: links handed to a browser are signed and expire.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": int(env("AWS_QUERYSTRING_EXPIRE", "300")),
            # Larger downloads are spooled to a temporary file, not kept in memory.
            "max_memory_size": 5 * 1024 * 1024,
        },
    }
    # Pages show some stored pictures (an engineer's photo) straight from the bucket's signed
    # links: the bucket's origin may serve images.
    _s3_origin = env("AWS_S3_ENDPOINT_URL", "https://*.amazonaws.com")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(_s3_origin.rstrip("/"))
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured(
        f"STORAGE_BACKEND must be 'filesystem' or 's3', not {STORAGE_BACKEND!r}."
    )
