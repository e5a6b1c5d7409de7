"""Formatting used by the Quay-style templates."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def shortdigest(digest: str) -> str:
    """``sha256:0123456789ab…`` → ``sha256:0123456789ab``, as Quay's Manifest column."""
    algo, _, hexpart = (digest or "").partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest


@register.filter
def size(value: int | None) -> str:
    if value is None:
        return "—"
    number = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if number < 1024 or unit == "TiB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return f"{value} B"


@register.filter
def relative(value: datetime | None) -> str:
    if value is None:
        return "—"
    now = timezone.now()
    if value > now:
        return f"in {timeuntil(value, now).split(',')[0]}"
    delta = now - value
    if delta.total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now).split(',')[0]} ago"


@register.filter
def exact(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%A, %B %-d, %Y %H:%M:%S %Z")


@register.filter
def isoformat(value: datetime | None) -> str:
    return value.isoformat() if value else ""
