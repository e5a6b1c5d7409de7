"""Small builders for accounts objects used across test modules."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from quaysquash.accounts.models import Namespace, Repository, RobotAccount


def user(username: str, password: str = "pw-secret-1", **extra):
    return get_user_model().objects.create_user(username=username, password=password, **extra)


def org(name: str, *admins) -> Namespace:
    ns = Namespace.objects.create(name=name, kind=Namespace.Kind.ORGANIZATION)
    ns.admins.add(*admins)
    return ns


def repo(namespace: Namespace, name: str, public: bool = False) -> Repository:
    return Repository.objects.create(namespace=namespace, name=name, is_public=public)


def robot(namespace: Namespace, short: str) -> RobotAccount:
    r = RobotAccount(namespace=namespace, short_name=short)
    r.save()
    return r
