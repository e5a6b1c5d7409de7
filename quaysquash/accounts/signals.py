"""Every user gets a namespace of their own, as in Quay."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Namespace
from .names import validate_namespace_name

log = logging.getLogger(__name__)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_user_namespace(sender, instance, created: bool, **kwargs) -> None:
    if not created or kwargs.get("raw"):
        return
    try:
        validate_namespace_name(instance.username)
    except ValidationError:
        log.info("user %s gets no namespace: name not valid as a namespace", instance.username)
        return
    if Namespace.objects.filter(name=instance.username).exists():
        return
    Namespace.objects.create(name=instance.username, kind=Namespace.Kind.USER, owner=instance)
