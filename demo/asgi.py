"""The demo under ASGI (``make demo DEMO_ARGS=--asgi``): uvicorn serves this application."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
application = get_asgi_application()
