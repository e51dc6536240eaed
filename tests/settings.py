"""Settings for the test suite: sessions in DynamoDB Local.

conftest.py points DYNAMODB_LOCAL_ENDPOINT and DYNAMODB_SESSIONS_TABLE at the DynamoDB Local
it starts. The in-memory SQLite database is there only for the tests that need users or a
Django session table to import from; sessions never touch it.
"""

SECRET_KEY = "pynamo-sessions-tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = ["pynamo_sessions", "django.contrib.sessions", "django.contrib.auth", "django.contrib.contenttypes"]
MIDDLEWARE = [
    "pynamo_sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.urls"
SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_REGION = "us-east-1"
DYNAMODB_LOCAL_ENDPOINT = "http://127.0.0.1:1"  # replaced by conftest.py
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING_CONFIG = None
