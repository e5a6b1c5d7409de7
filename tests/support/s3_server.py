"""An S3-compatible server for the suite (moto's HTTP server) and the settings that point
quaysquash at one of its buckets."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

from quaysquash.core import processes

from .server_process import HttpAddress, LoopbackServer


class S3Server(HttpAddress, LoopbackServer):
    """An S3-compatible server on a free loopback port: moto's standalone HTTP server.

    MinIO is neither in Debian bookworm nor on PyPI; moto's server speaks the S3 REST API over
    real HTTP, so boto3, curl and the registry's clients talk to it as to any S3 endpoint. It
    keeps objects in memory. It does not verify request signatures, presigned URL signatures or
    expiry, nor upload checksums: tests must not rely on it refusing a bad signature.
    """

    access_key_id = "QSTESTACCESSKEY"
    secret_access_key = "qs-test-secret-never-logged"
    region = "us-east-1"
    log_name = "moto.log"
    label = "the S3 server"

    def start(self, timeout: float = 30) -> S3Server:
        self.launch(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            lambda: processes.http_ok(self.url + "/moto-api/"),
            timeout,
            env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
        )
        return self

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str | None = None) -> str:
        """A new, empty bucket (a fresh name per caller keeps tests apart); returns its name."""
        name = name or f"qs-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The ``QS_*`` settings that point quaysquash at ``bucket`` on this server."""
        return {
            "QS_STORAGE_BACKEND": "s3",
            "QS_S3_ENDPOINT_URL": self.url,
            "QS_S3_BUCKET": bucket,
            "QS_S3_REGION": self.region,
            "QS_S3_ACCESS_KEY_ID": self.access_key_id,
            "QS_S3_SECRET_ACCESS_KEY": self.secret_access_key,
            "QS_S3_PREFIX": prefix,
            # Never ask a cloud metadata service for credentials from a test.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def configure(self, settings: Any, bucket: str, prefix: str = "") -> None:
        """Point an in-process Django ``settings`` (pytest-django's fixture) at ``bucket``."""
        for name, value in self.env(bucket, prefix).items():
            if name.startswith("QS_"):
                setattr(settings, name, value)
        settings.QS_S3_REDIRECT = True
