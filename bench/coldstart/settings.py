"""The cold-start benchmark's site: the same views on our engine, on the floor (a minimal session
engine on raw botocore), on the PynamoDB floor (the same on a PynamoDB model) or on Django's
signed_cookies, per COLD_ENGINE."""

import os

ENGINE = os.environ.get("COLD_ENGINE", "ours")

SECRET_KEY = "coldstart-bench-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver"]
DATABASES: dict[str, dict[str, str]] = {}
ROOT_URLCONF = "bench.coldstart.urls"
LOGGING_CONFIG = None
if ENGINE.startswith("ours"):
    INSTALLED_APPS = ["pynamo_sessions"]
    MIDDLEWARE = ["pynamo_sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
else:
    INSTALLED_APPS = []
    MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = {
        "floor": "bench.coldstart.floor",
        "pynamodb_floor": "bench.coldstart.pynamodb_floor",
    }.get(ENGINE, "django.contrib.sessions.backends.signed_cookies")
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("COLD_ENDPOINT", "http://127.0.0.1:8000")
DYNAMODB_REGION = "us-east-1"
DYNAMODB_SESSIONS_TABLE = "coldstart-sessions"
# As on Lambda, the request path's production timeouts (DynamoDB Local would get patient ones).
DYNAMODB_SESSIONS_CONNECT_TIMEOUT = 0.5
DYNAMODB_SESSIONS_READ_TIMEOUT = 0.5
if ENGINE == "ours_native":  # native async forced on Lambda, to show what it costs there
    DYNAMODB_SESSIONS_ASYNC_TRANSPORT = "native"
