"""The Celery application (``celery -A quaysquash worker``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

app = Celery("quaysquash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
