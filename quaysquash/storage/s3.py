"""The S3 driver: objects in one bucket (AWS S3 or any S3-compatible server), under a prefix.

An object appears under its key only once complete: streams go up as multipart uploads that
are completed after the digest check (aborted otherwise), and S3 never shows an uncompleted
one. Reads are one streaming GET each (a seek starts a ranged one). Nothing is kept on local
disk except what callers stage in :meth:`staging_dir` (per-host scratch).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from . import s3parts
from .base import CHUNK, ObjectInfo, Storage, check_key, remove_older
from .digests import HashedStream
from .s3client import ObjectReader, S3Config, client_for, is_missing


class S3Storage(Storage):
    def __init__(self, config: S3Config, scratch: Path) -> None:
        self.config = config
        self.bucket = config.bucket
        self.scratch = Path(scratch)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint={self.config.endpoint_url!r})"

    @property
    def client(self) -> Any:
        return client_for(self.config)

    def name(self, key: str) -> str:
        return self.config.prefix + check_key(key)

    def _key_of(self, name: str) -> str:
        return name[len(self.config.prefix) :]

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return ObjectInfo(key, int(head["ContentLength"]), head["LastModified"].timestamp())

    def open(self, key: str, offset: int = 0) -> BinaryIO:
        raw = ObjectReader(self.client, self.bucket, self.name(key), offset)
        return io.BufferedReader(raw, buffer_size=CHUNK)  # type: ignore[return-value]

    def _store(self, key: str, stream: HashedStream, durable: bool) -> tuple[str, int]:
        # S3 acknowledges a write only once it is durable: nothing to choose here.
        return s3parts.write_stream(self.client, self.bucket, self.name(key), stream)

    def commit_file(self, path: Path, key: str, *, durable: bool = True) -> None:
        from boto3.s3.transfer import TransferConfig

        size = s3parts.PART_SIZE
        self.client.upload_file(
            str(path),
            self.bucket,
            self.name(key),
            Config=TransferConfig(multipart_threshold=size, multipart_chunksize=size),
        )
        Path(path).unlink(missing_ok=True)

    def move(self, src: str, dest: str) -> None:
        # A managed copy: one CopyObject, or a multipart copy past 5 GB; inside the bucket.
        self.client.copy(
            {"Bucket": self.bucket, "Key": self.name(src)}, self.bucket, self.name(dest)
        )
        self.delete(src)

    def assemble(self, dest: str, parts: list[str], local_copy: Path | None = None) -> None:
        sized = []
        for part in parts:
            info = self.stat(part)
            if info is None:
                raise FileNotFoundError(part)
            sized.append((self.name(part), info.size))
        if local_copy is not None:
            read_range = s3parts.read_local(local_copy)
        else:
            read_range = self._read_range
        s3parts.assemble(self.client, self.bucket, self.name(dest), sized, read_range)
        if local_copy is not None:
            Path(local_copy).unlink(missing_ok=True)

    def _read_range(self, name: str, _offset: int, length: int) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.config.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    self._key_of(item["Key"]), int(item["Size"]), item["LastModified"].timestamp()
                )

    def delete_prefix(self, prefix: str) -> int:
        names = [self.name(info.key) for info in self.list(prefix)]
        s3parts.delete_keys(self.client, self.bucket, names)
        return len(names)

    def presigned_url(
        self, key: str, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        if not self.config.redirect:
            return None
        params = {"Bucket": self.bucket, "Key": self.name(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if content_type:
            params["ResponseContentType"] = content_type
        # Computed locally (no request); a bearer credential until it expires, never logged.
        return self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.config.presign_seconds
        )

    def local_path(self, key: str) -> Path | None:
        return None

    def staging_dir(self) -> Path:
        path = self.scratch / "staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cleanup(self, older_than: float) -> dict[str, int]:
        client, prefix = self.client, self.config.prefix
        aborted = removed = 0
        for page in client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < older_than:
                    client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        for info in list(self.list("tmp/")):
            if info.modified < older_than:
                self.delete(info.key)
                removed += 1
        local = remove_older(self.staging_dir(), older_than)
        return {"multipart_aborted": aborted, "tmp_removed": removed, "staging_removed": local}
