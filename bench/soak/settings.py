"""The soak's small site: sessions in DynamoDB Local behind the fault proxy, nothing else.

The soak driver sets the environment: SOAK_ENDPOINT (the proxy), SOAK_ON_UNAVAILABLE.
"""

import os

SECRET_KEY = "soak-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES: dict[str, dict[str, str]] = {}
INSTALLED_APPS = ["pynamo_sessions"]
MIDDLEWARE = ["pynamo_sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "bench.soak.urls"
SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("SOAK_ENDPOINT", "http://127.0.0.1:8000")
DYNAMODB_REGION = "us-east-1"
DYNAMODB_SESSIONS_TABLE = "soak-sessions"
DYNAMODB_SESSIONS_ON_UNAVAILABLE = os.environ.get("SOAK_ON_UNAVAILABLE", "raise")
# Production's request-path timeouts: left unset, an endpoint on this machine gets the patient
# ones meant for development and test suites, and the soak is about production's behaviour.
DYNAMODB_SESSIONS_CONNECT_TIMEOUT = 0.5
DYNAMODB_SESSIONS_READ_TIMEOUT = 0.5
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "pynamo_sessions": {"handlers": ["stderr"], "level": "WARNING"},
        "django.request": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
