"""The Celery application (``celery -A quaysquash worker``)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

app = Celery("quaysquash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _survive_broker_restarts(**_kwargs) -> None:
    # kombu's Redis transport would otherwise end the worker when Redis restarts mid-task.
    from quaysquash.core import brokerfix

    brokerfix.apply()
