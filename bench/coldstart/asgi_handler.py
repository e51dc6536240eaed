"""A Lambda handler as the README's Mangum recipe builds it: what Lambda's init imports."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.coldstart.settings")

from django.core.asgi import get_asgi_application
from mangum import Mangum

handler = Mangum(get_asgi_application(), lifespan="off")
