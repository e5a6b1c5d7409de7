"""Registry blobs in an S3-compatible bucket, with the same interface as ``LocalStorage``.

Objects live at ``<prefix>blobs/sha256/<ab>/<hex>``. An object appears under that key only once
its bytes are complete and their sha256 matched: a stream goes up as a multipart upload that is
completed only after the digest check (aborted otherwise), and S3 never shows an uncompleted
multipart upload. Upload *sessions* still grow on local disk (see ``uploads_dir``).

The squash engine and the importer read layers front to back; the only seeks are a rewind to 0
right after sniffing a layer's first bytes (gzip) and the start offset of a ranged blob GET.
``open`` therefore returns a buffered, seekable reader over one streaming GET that turns a seek
into a new ranged GET: no local copy of the blob is needed, so there is no read-through cache.

Credentials are handed to boto3 and never logged; ``repr()`` of a storage or its settings does
not show the secret key.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from . import digests
from .storage import CHUNK, DigestMismatch, check_digest_syntax

log = logging.getLogger(__name__)

# Multipart parts: S3 wants at least 5 MiB per part (except the last) and at most 10,000
# parts. 8 MiB parts, doubling every 2,000 parts, reach about 500 GB, far past any layer, while
# a small blob is buffered whole and sent with one PUT.
PART_SIZE = 8 * 1024 * 1024
PARTS_PER_DOUBLING = 2000


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
        return cls(
            bucket=settings.QS_S3_BUCKET,
            endpoint_url=settings.QS_S3_ENDPOINT_URL,
            region=settings.QS_S3_REGION,
            access_key_id=settings.QS_S3_ACCESS_KEY_ID,
            secret_access_key=settings.QS_S3_SECRET_ACCESS_KEY,
            prefix=settings.QS_S3_PREFIX,
            presign_seconds=settings.QS_S3_PRESIGN_SECONDS,
            redirect=settings.QS_S3_REDIRECT,
        )


@lru_cache(maxsize=8)
def client_for(config: S3Config, *, quick: bool = False) -> Any:
    """A boto3 S3 client for ``config`` (thread-safe, so one per process and purpose).

    ``quick`` clients fail fast (one attempt, short timeouts): they serve checks made on the
    web server's event loop, where a slow S3 must not hold every other download.
    """
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "signature_version": "s3v4",
        # S3-compatible servers are usually addressed by path (no wildcard DNS for buckets).
        "s3": {"addressing_style": "path" if config.endpoint_url else "auto"},
    }
    if quick:
        options.update(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
    else:
        options.update(
            connect_timeout=10, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"}
        )
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


class S3ObjectReader(io.RawIOBase):
    """Raw, seekable reads of one object: reads stream from one GET; a seek drops that GET
    and the next read starts a ranged one where the seek landed."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._pos = 0
        self._size: int | None = None
        self._body: Any = None
        self._request(0)  # now, so that a missing object fails at open() like a missing file

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


class S3Storage:
    """Content-addressed blobs in one bucket; same methods and guarantees as LocalStorage."""

    def __init__(self, config: S3Config, local_root: Path) -> None:
        self.config = config
        self.bucket = config.bucket
        self.local_root = Path(local_root)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint={self.config.endpoint_url!r})"

    @property
    def client(self) -> Any:
        return client_for(self.config)

    @property
    def redirects(self) -> bool:
        return self.config.redirect

    def key(self, digest: str) -> str:
        check_digest_syntax(digest)
        algo, hexpart = digest.split(":", 1)
        return f"{self.config.prefix}blobs/{algo}/{hexpart[:2]}/{hexpart}"

    @property
    def uploads_dir(self) -> Path:
        """Upload sessions stay on local disk, as with LocalStorage.

        A session is appended to chunk by chunk (PATCH), may be rewritten from an earlier
        offset when a client retries, and is hashed as it grows; S3 objects are immutable and
        multipart parts must be at least 5 MiB, which chunked pushes do not respect. The ASGI
        handler also writes request bodies straight into this directory. Only the finished,
        verified blob goes to the bucket (``commit_file``). With several web servers, route a
        session's requests to one machine or share this directory.
        """
        path = self.local_root / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _head(self, digest: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise

    def exists(self, digest: str) -> bool:
        return self._head(digest) is not None

    def size(self, digest: str) -> int:
        head = self._head(digest)
        if head is None:
            raise FileNotFoundError(self.key(digest))
        return int(head["ContentLength"])

    def open(self, digest: str) -> BinaryIO:
        raw = S3ObjectReader(self.client, self.bucket, self.key(digest))
        return io.BufferedReader(raw, buffer_size=CHUNK)  # type: ignore[return-value]

    def delete(self, digest: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(digest))

    def presigned_url(self, digest: str, **response_params: str) -> str:
        """A GET URL for the blob valid ``QS_S3_PRESIGN_SECONDS`` (computed locally, no I/O).

        It is a bearer credential for that one object until it expires: never log it.
        """
        return self.presign_key(self.key(digest), **response_params)

    def presign_key(self, key: str, **response_params: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, **response_params},
            ExpiresIn=self.config.presign_seconds,
        )

    def commit_file(self, tmp_path: Path, digest: str) -> str:
        """Upload a fully written, verified local file to its key, then remove the file.

        A PUT or a completed multipart upload appears whole or not at all; on failure the
        local file is kept so the caller (or a retrying client) can try again.
        """
        key = self.key(digest)
        self.upload_path(Path(tmp_path), key)
        Path(tmp_path).unlink(missing_ok=True)
        return key

    def upload_path(self, path: Path, key: str, extra: dict | None = None) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client.upload_file(
            str(path),
            self.bucket,
            key,
            ExtraArgs=extra or None,
            Config=TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE),
        )

    def write_stream(
        self, chunks: Iterable[bytes], expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Upload a stream while hashing it; return ``(digest, size)``.

        Nothing becomes visible unless the whole stream arrived and matched
        ``expected_digest``. With a digest expected, the stream goes straight to its final key
        (a multipart upload completed only after the check); without one, the key is not known
        until the end, so it goes to a temporary key and is copied into place.
        """
        if expected_digest is not None:
            check_digest_syntax(expected_digest)
            key = self.key(expected_digest)
        else:
            key = f"{self.config.prefix}tmp/{uuid.uuid4().hex}"
        digest, size = _MultipartWriter(self.client, self.bucket, key).write(
            chunks, expected_digest
        )
        if expected_digest is None:
            try:
                self.client.copy({"Bucket": self.bucket, "Key": key}, self.bucket, self.key(digest))
            finally:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        return digest, size

    def write_file(self, fileobj: BinaryIO, expected_digest: str | None = None) -> tuple[str, int]:
        return self.write_stream(iter(lambda: fileobj.read(CHUNK), b""), expected_digest)

    def cleanup_incomplete(self, older_than: datetime) -> dict[str, int]:
        """Abort multipart uploads and delete temporary objects started before ``older_than``.

        A process killed in the middle of ``write_stream`` leaves its parts (billed, invisible)
        or its temporary key behind; neither is ever a blob, so removing them loses nothing.
        Bucket lifecycle rules can do the same, but not every S3-compatible server has them.
        """
        client, prefix = self.client, self.config.prefix
        aborted = removed = 0
        for page in client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{prefix}tmp/"
        ):
            for item in page.get("Contents", []):
                if item["LastModified"] < older_than:
                    client.delete_object(Bucket=self.bucket, Key=item["Key"])
                    removed += 1
        return {"multipart_aborted": aborted, "tmp_removed": removed}


class _MultipartWriter:
    """Hashes a stream while sending it in parts; completes only if the digest matches."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.upload_id: str | None = None
        self.parts: list[dict] = []

    def write(self, chunks: Iterable[bytes], expected: str | None) -> tuple[str, int]:
        hasher = digests.hasher_for(expected)
        buffer = bytearray()
        size = 0
        try:
            for chunk in chunks:
                hasher.update(chunk)
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= self._part_size():
                    self._send_part(bytes(buffer))
                    buffer = bytearray()
            digest = digests.of_hasher(hasher)
            if expected is not None and digest != expected:
                raise DigestMismatch(expected, digest)
            if self.upload_id is None:
                # Small blob: it is all in memory and verified, one PUT publishes it.
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(buffer))
            else:
                if buffer or not self.parts:
                    self._send_part(bytes(buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
                self.upload_id = None
            return digest, size
        finally:
            if self.upload_id is not None:
                self._abort()

    def _part_size(self) -> int:
        return PART_SIZE << (len(self.parts) // PARTS_PER_DOUBLING)

    def _send_part(self, data: bytes) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        sent = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def _abort(self) -> None:
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
        except Exception:  # the bucket's lifecycle rule cleans up what we could not
            log.warning("could not abort multipart upload of %s", self.key, exc_info=True)
        self.upload_id = None
