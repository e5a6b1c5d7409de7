"""The bucket's address and a boto3 client for it: the only place besides the S3 driver that
knows about boto3. Credentials go to boto3 only and are kept out of ``repr()`` and logs."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from django.conf import settings

from quaysquash.envconfig import settings_group

# S3 wants at least 5 MiB per multipart part (except the last), at most 10,000 parts.
MIN_PART = 5 * 1024 * 1024


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is and how to reach it (from the ``QS_S3_*`` settings)."""

    bucket: str
    endpoint_url: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    prefix: str = ""
    presign_seconds: int = 600
    redirect: bool = True

    @classmethod
    def from_settings(cls) -> S3Config:
        if not settings.QS_S3_BUCKET:
            raise RuntimeError("QS_STORAGE_BACKEND=s3 needs QS_S3_BUCKET")
        # Every field has its setting: bucket is QS_S3_BUCKET, and so on.
        return cls(**settings_group("QS_S3_", (f.name for f in fields(cls))))


@lru_cache(maxsize=8)
def client_for(config: S3Config) -> Any:
    """A boto3 S3 client for ``config`` (thread-safe, so one per process)."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "signature_version": "s3v4",
        # S3-compatible servers are usually addressed by path (no wildcard DNS for buckets).
        "s3": {"addressing_style": "path" if config.endpoint_url else "auto"},
        "connect_timeout": 10,
        "read_timeout": 60,
        "retries": {"max_attempts": 5, "mode": "standard"},
        "max_pool_connections": 32,
    }
    credentials = {}
    if config.access_key_id:
        credentials = {
            "aws_access_key_id": config.access_key_id,
            "aws_secret_access_key": config.secret_access_key,
        }
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url or None,
        region_name=config.region,
        config=Config(**options),
        **credentials,
    )


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_missing(exc: Exception) -> bool:
    return error_code(exc) in ("404", "NoSuchKey", "NotFound")


class ObjectReader(io.RawIOBase):
    """Raw, seekable reads of one object: reads stream from one GET; a seek drops that GET
    and the next read starts a ranged one where the seek landed."""

    def __init__(self, client: Any, bucket: str, key: str, offset: int = 0) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._pos = offset
        self._size: int | None = None
        self._body: Any = None
        self._request(offset)  # now, so that a missing object fails at open()

    def _request(self, start: int) -> None:
        from botocore.exceptions import ClientError

        params = {"Bucket": self._bucket, "Key": self._key}
        if start:
            params["Range"] = f"bytes={start}-"
        try:
            response = self._client.get_object(**params)
        except ClientError as exc:
            if is_missing(exc):
                raise FileNotFoundError(self._key) from exc
            if error_code(exc) == "InvalidRange":  # at or past the end
                self._body = io.BytesIO()
                return
            raise
        self._body = response["Body"]
        if self._size is None and not start:
            self._size = int(response["ContentLength"])

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._body is None:
            self._request(self._pos)
        n = self._body.readinto(buffer)
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            if self._size is None:
                head = self._client.head_object(Bucket=self._bucket, Key=self._key)
                self._size = int(head["ContentLength"])
            offset += self._size
        if offset < 0:
            raise ValueError("negative seek position")
        if offset != self._pos:
            self._drop()
            self._pos = offset
        return self._pos

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()
