"""The tabs benchmark's site: one session, parallel tabs, on our engine or on Django's ``db``.

The driver sets the environment: TABS_ENGINE ("dynamodb" or "db"), TABS_ENDPOINT (DynamoDB
Local), TABS_DATABASE (the SQLite file that Django's ``db`` engine uses).
"""

import os

ENGINE = os.environ.get("TABS_ENGINE", "dynamodb")

SECRET_KEY = "tabs-bench-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.tabs.app"
if ENGINE == "db":
    INSTALLED_APPS = ["django.contrib.sessions"]
    MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    # A generous lock timeout: SQLite serialises writers, and a request that gave up waiting
    # would be an error, not the silent overwrite this benchmark is about.
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("TABS_DATABASE", ""),
                             "OPTIONS": {"timeout": 30}}}
else:
    INSTALLED_APPS = ["pynamo_sessions"]
    MIDDLEWARE = ["pynamo_sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
    DATABASES = {}
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("TABS_ENDPOINT", "http://127.0.0.1:8000")
DYNAMODB_REGION = "us-east-1"
DYNAMODB_SESSIONS_TABLE = "bench-tabs-sessions"
LOGGING_CONFIG = None
