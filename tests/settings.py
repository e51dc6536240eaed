"""Settings for the test suite: sessions in DynamoDB Local.

conftest.py points DYNAMODB_LOCAL_ENDPOINT and DYNAMODB_SESSIONS_TABLE at the DynamoDB Local
it starts. The in-memory SQLite database is there only for the tests that need users or a
Django session table to import from; sessions never touch it.
"""

from pathlib import Path

SECRET_KEY = "pynamo-sessions-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "pynamo_sessions",
    "django.contrib.sessions",  # only for the importsessions tests, which read a django_session table
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "pynamo_sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "pynamo_sessions.middleware.ClientInfoMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [Path(__file__).parent / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
LOGIN_URL = "/login-page/"
ROOT_URLCONF = "tests.urls"
SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_REGION = "us-east-1"
DYNAMODB_LOCAL_ENDPOINT = "http://127.0.0.1:1"  # replaced by conftest.py
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING_CONFIG = None
