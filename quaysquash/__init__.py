"""quaysquash: a self-hosted container registry with squashed image downloads."""

from .celery import app as celery_app

__all__ = ["celery_app"]
