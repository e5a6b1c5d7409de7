"""Celery tasks of the core app."""

from __future__ import annotations

from celery import shared_task

PING_TASK = "quaysquash.core.tasks.ping"


@shared_task(name=PING_TASK, acks_late=False, ignore_result=False)
def ping(payload: str = "pong") -> str:
    """Health check: answers ``payload`` when a worker is consuming the queue.

    ``serve`` and the test stack send it to prove the broker, a worker and the result backend
    all work. Not acked late: a ping lost with a dying worker must not be redelivered later.
    """
    return payload
