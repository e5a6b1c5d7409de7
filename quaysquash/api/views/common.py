"""Small parsers and conversions shared by the API views."""

from __future__ import annotations

from datetime import datetime

from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.serializers import Serializer

MAX_PAGE_SIZE = 100


def int_param(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        raise ApiValidationError({"detail": f"not a number: {value!r}"}) from None
    return min(max(number, low), high)


def bool_param(value: str | None, default: bool) -> bool:
    if value in (None, ""):
        return default
    return value.lower() in ("1", "true", "yes", "on")


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def validated(serializer: type[Serializer], request: Request) -> dict:
    """The request body checked by ``serializer``; a bad body answers 400 with its errors."""
    body = serializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data
