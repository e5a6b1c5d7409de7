"""ASGI entry point (uvicorn): async views stream squashed images without tying up threads,
and blob upload bodies go straight to disk (see ``quaysquash.registry.asgi``)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

from quaysquash.registry.asgi import application

__all__ = ["application"]
