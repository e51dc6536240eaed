"""One uvicorn process of the ASGI benchmark: the stock path or ours, per BENCH_ASGI_VARIANT.

stock:  Django's SessionMiddleware and SessionBase's async methods (sync ones in a thread).
native: our SessionMiddleware and our native async methods on the loop's aiobotocore client.
"""

import os

VARIANT = os.environ.get("BENCH_ASGI_VARIANT", "native")

SECRET_KEY = "bench-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES: dict[str, dict[str, str]] = {}
INSTALLED_APPS = ["pynamo_sessions"]
ROOT_URLCONF = "bench.asgi.app"
if VARIANT == "stock":
    MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = "bench.asgi.stock"
else:
    MIDDLEWARE = ["pynamo_sessions.middleware.SessionMiddleware"]
    SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("BENCH_ENDPOINT", "http://127.0.0.1:8000")
DYNAMODB_REGION = "us-east-1"
DYNAMODB_SESSIONS_TABLE = "bench-asgi-sessions"
DYNAMODB_SESSIONS_METRICS_CALLBACK = "bench.asgi.app.count_call"
LOGGING_CONFIG = None
