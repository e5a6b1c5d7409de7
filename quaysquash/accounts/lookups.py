"""Resolving names typed on a command line or in a form into accounts objects."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from .models import Namespace, Repository, RobotAccount


class LookupError_(Exception):
    """A name that does not resolve; the message is meant for the user as is."""


def namespace(name: str) -> Namespace:
    try:
        return Namespace.objects.get(name=name)
    except Namespace.DoesNotExist:
        raise LookupError_(f"unknown namespace {name!r}") from None


def split_repository(full_name: str) -> tuple[str, str]:
    ns, sep, repo = full_name.partition("/")
    if not sep or not ns or not repo:
        raise LookupError_(f"repository must be written <namespace>/<name>, got {full_name!r}")
    return ns, repo


def repository(full_name: str) -> Repository:
    ns_name, repo_name = split_repository(full_name)
    ns = namespace(ns_name)
    try:
        return Repository.objects.get(namespace=ns, name=repo_name)
    except Repository.DoesNotExist:
        raise LookupError_(f"unknown repository {full_name!r}") from None


def robot(full_name: str) -> RobotAccount:
    try:
        return RobotAccount.objects.get_by_full_name(full_name)
    except RobotAccount.DoesNotExist:
        raise LookupError_(f"unknown robot {full_name!r}") from None


def user(username: str):
    User = get_user_model()
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise LookupError_(f"unknown user {username!r}") from None
