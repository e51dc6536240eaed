"""The demo site: no relational database at all, sessions in DynamoDB.

demo/run.py sets DYNAMODB_LOCAL_ENDPOINT to the DynamoDB Local it starts. With DYNAMODB_REGION
set in the environment instead (and AWS credentials), the same site uses real DynamoDB.
"""

import os

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
DATABASES: dict[str, dict[str, str]] = {}
INSTALLED_APPS = ["pynamo_sessions", "demo"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pynamo_sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demo.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
}]
USE_TZ = True
TIME_ZONE = "UTC"

SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("DYNAMODB_LOCAL_ENDPOINT") or None
DYNAMODB_REGION = os.environ.get("DYNAMODB_REGION", "us-east-1")
DYNAMODB_SESSIONS_TABLE = os.environ.get("DEMO_SESSIONS_TABLE", "pynamo-sessions-demo")
