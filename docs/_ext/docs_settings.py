"""The Django settings the documentation build runs with: enough to import every module and
command whose reference is generated. No DynamoDB is called."""

SECRET_KEY = "docs-only"  # noqa: S105 - the docs build signs nothing
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "pynamo_sessions"]
SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
DYNAMODB_LOCAL_ENDPOINT = "http://127.0.0.1:1"
USE_TZ = True
