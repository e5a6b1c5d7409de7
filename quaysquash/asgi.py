"""ASGI entry point (uvicorn): async views stream squashed images without tying up threads."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")
application = get_asgi_application()
