"""The test suite's settings, plus Django's ``sessions_tests`` app, as Django's runtests sets up."""

import sys

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS
from tests_django.source import django_tests_dir

sys.path.insert(0, str(django_tests_dir()))

INSTALLED_APPS = [*INSTALLED_APPS, "sessions_tests"]
USE_TZ = False  # Django's test settings; the *WithTimeZone classes turn it on
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
