"""A Lambda handler as the README's apig-wsgi recipe builds it: what Lambda's init imports."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.coldstart.settings")

from apig_wsgi import make_lambda_handler
from django.core.wsgi import get_wsgi_application

handler = make_lambda_handler(get_wsgi_application(), binary_support=True)
