"""The demo site: sessions in DynamoDB, users in a throwaway SQLite file.

demo/run.py sets DYNAMODB_LOCAL_ENDPOINT to the DynamoDB Local it starts, and DEMO_DATABASE to a
fresh SQLite file for django.contrib.auth's users (sessions never touch it). With DYNAMODB_REGION
set in the environment instead (and AWS credentials), the same site uses real DynamoDB.
"""

import os
from pathlib import Path

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": os.environ.get("DEMO_DATABASE", str(Path(__file__).resolve().parent.parent / ".cache" / "demo.sqlite3")),
}}
INSTALLED_APPS = ["pynamo_sessions", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.messages",
                  "demo"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pynamo_sessions.middleware.SessionMiddleware",
    "pynamo_sessions.middleware.ClientInfoMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
LOGIN_URL = "home"
LOGOUT_REDIRECT_URL = "home"
ROOT_URLCONF = "demo.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.messages.context_processors.messages"]},
}]
USE_TZ = True
TIME_ZONE = "UTC"

SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
# The sessions page inside the demo's own layout (templates/base.html, with a "content" block).
DYNAMODB_SESSIONS_LAYOUT_TEMPLATE = "base.html"
DYNAMODB_LOCAL_ENDPOINT = os.environ.get("DYNAMODB_LOCAL_ENDPOINT") or None
DYNAMODB_REGION = os.environ.get("DYNAMODB_REGION", "us-east-1")
DYNAMODB_SESSIONS_TABLE = os.environ.get("DEMO_SESSIONS_TABLE", "pynamo-sessions-demo")
# "Where you're signed in" (/account/sessions/): the user index, the device, an absolute lifetime.
DYNAMODB_SESSIONS_TRACK_USERS = True
DYNAMODB_SESSIONS_TRACK_CLIENT = True
DYNAMODB_SESSIONS_ABSOLUTE_AGE = 90 * 24 * 3600
