"""The tabs benchmark's site: one session, parallel tabs, on our engine or on Django's ``db``.

The driver sets the environment: TABS_ENGINE ("dynamodb", "cached_dynamodb" or "db"),
TABS_ENDPOINT (DynamoDB Local), TABS_DATABASE (the SQLite file that Django's ``db`` engine uses),
TABS_CACHE_DIR (the file cache the cached engine's workers share); the regions benchmark also
TABS_REGION and TABS_REGIONS.
"""

import json
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
    SESSION_ENGINE = f"pynamo_sessions.backends.{ENGINE}"
    DATABASES = {}
    # The cached engine needs a cache every worker shares; a file cache is one on one machine.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": os.environ.get("TABS_CACHE_DIR", "/tmp/pynamo-sessions-tabs-cache")}}
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("TABS_ENDPOINT", "http://127.0.0.1:8000")
DYNAMODB_REGION = os.environ.get("TABS_REGION", "us-east-1")
# The regions benchmark runs one site per Region; TABS_REGIONS (JSON) pins sessions to their home.
DYNAMODB_SESSIONS_REGIONS = json.loads(os.environ["TABS_REGIONS"]) if os.environ.get("TABS_REGIONS") else None
DYNAMODB_SESSIONS_TABLE = "bench-tabs-sessions"
LOGGING_CONFIG = None
