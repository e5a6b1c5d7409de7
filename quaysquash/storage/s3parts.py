"""Multipart uploads for the S3 driver: streamed writes completed only after the digest check,
and the server-side assembly of segments (UploadPartCopy) into one object."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .digests import HashedStream
from .s3client import MIN_PART

log = logging.getLogger(__name__)

# 8 MiB parts, doubling every 2,000 parts, reach about 500 GB within S3's 10,000 parts.
PART_SIZE = 8 * 1024 * 1024
PARTS_PER_DOUBLING = 2000


class Multipart:
    """One multipart upload of ``key``: parts go up as they come; complete or abort."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.upload_id: str | None = None
        self.parts: list[dict] = []

    def start(self) -> None:
        created = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
        self.upload_id = created["UploadId"]

    def send(self, data: bytes) -> None:
        if self.upload_id is None:
            self.start()
        number = len(self.parts) + 1
        sent = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def copy(self, source_key: str) -> None:
        if self.upload_id is None:
            self.start()
        number = len(self.parts) + 1
        sent = self.client.upload_part_copy(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            CopySource={"Bucket": self.bucket, "Key": source_key},
        )
        self.parts.append({"PartNumber": number, "ETag": sent["CopyPartResult"]["ETag"]})

    def complete(self) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )
        self.upload_id = None

    def abort(self) -> None:
        if self.upload_id is None:
            return
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
        except Exception:  # the periodic cleanup (or a lifecycle rule) gets what we could not
            log.warning("could not abort multipart upload of %s", self.key, exc_info=True)
        self.upload_id = None

    def part_size(self) -> int:
        return PART_SIZE << (len(self.parts) // PARTS_PER_DOUBLING)


def write_stream(client: Any, bucket: str, key: str, stream: HashedStream) -> tuple[str, int]:
    """Send a stream as it is hashed; the object appears only if the digest matched."""
    upload = Multipart(client, bucket, key)
    buffer = bytearray()
    try:
        for chunk in stream:
            buffer += chunk
            if len(buffer) >= upload.part_size():
                upload.send(bytes(buffer))
                buffer = bytearray()
        written = stream.verified()
        if upload.upload_id is None:
            # Small: it is all in memory and verified, one PUT publishes it.
            client.put_object(Bucket=bucket, Key=key, Body=bytes(buffer))
        else:
            if buffer:
                upload.send(bytes(buffer))
            upload.complete()
        return written
    finally:
        upload.abort()


def assemble(
    client: Any,
    bucket: str,
    dest: str,
    parts: list[tuple[str, int]],
    read_range,
) -> None:
    """Concatenate ``(key, size)`` parts into ``dest`` as one multipart upload.

    Parts of at least 5 MiB are copied inside the bucket (UploadPartCopy, no data through us);
    runs of smaller ones are merged into one uploaded part, their bytes from ``read_range(offset,
    length)`` (a local copy, or the bucket).
    """
    upload = Multipart(client, bucket, dest)
    pending = bytearray()
    offset = 0
    try:
        for index, (key, size) in enumerate(parts):
            last = index == len(parts) - 1
            if not pending and size >= MIN_PART:
                upload.copy(key)
            else:
                pending += read_range(key, offset, size)
                if len(pending) >= MIN_PART or last:
                    upload.send(bytes(pending))
                    pending = bytearray()
            offset += size
        if pending:
            upload.send(bytes(pending))
        if not upload.parts:
            client.put_object(Bucket=bucket, Key=dest, Body=b"")
            return
        upload.complete()
    finally:
        upload.abort()


def delete_keys(client: Any, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )


def read_local(path: Path):
    def read_range(_key: str, offset: int, length: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    return read_range
