"""A tiny registry that misbehaves on purpose, for what a real one never does: bytes that do
not match their digest. A real HTTP server on loopback (http.server in a thread)."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from quaysquash.registry import mediatypes


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG = json.dumps(
    {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
).encode()
LAYER = b"the real layer bytes"
TAMPERED = b"THE REAL LAYER BYTES"  # same length, other digest


def image_manifest(layer_size: int = len(LAYER)) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": digest_of(CONFIG),
                "size": len(CONFIG),
            },
            "layers": [
                {
                    "mediaType": mediatypes.OCI_LAYER_GZIP,
                    "digest": digest_of(LAYER),
                    "size": layer_size,
                }
            ],
        }
    ).encode()


class FakeUpstream:
    """Repositories: ``bad/blob`` (the layer comes tampered), ``bad/manifest`` (the manifest's
    announced digest is not its bytes'), ``big/manifest`` (a 5 MiB manifest), ``big/blob`` (a
    layer descriptor of 64 GiB). Every request path is recorded in ``requests``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET(body=False)

            def do_GET(self, body: bool = True) -> None:
                outer.requests.append(f"{self.command} {self.path}")
                status, headers, data = outer.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client hanging up early (a limit hit) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/v2/":
            return 200, {}, b"{}"
        repo, kind, ref = self._split(path)
        manifest = image_manifest(64 * 1024**3 if repo == "big/blob" else len(LAYER))
        if kind == "manifests":
            if repo == "big/manifest":
                huge = (
                    manifest[:-1] + b', "annotations": {"x": "' + b"y" * (5 * 1024 * 1024) + b'"}}'
                )
                return 200, {"Content-Type": mediatypes.OCI_MANIFEST}, huge
            announced = (
                digest_of(manifest + b" ") if repo == "bad/manifest" else digest_of(manifest)
            )
            headers = {"Content-Type": mediatypes.OCI_MANIFEST, "Docker-Content-Digest": announced}
            return 200, headers, manifest
        if kind == "blobs":
            if ref == digest_of(CONFIG):
                return 200, {}, CONFIG
            if ref == digest_of(LAYER):
                return 200, {}, TAMPERED if repo == "bad/blob" else LAYER
        return 404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NAME_UNKNOWN"}]}'

    @staticmethod
    def _split(path: str) -> tuple[str, str, str]:
        inner = path.split("?")[0][len("/v2/") :]
        for kind in ("manifests", "blobs"):
            marker = f"/{kind}/"
            if marker in inner:
                repo, _, ref = inner.partition(marker)
                return repo, kind, ref
        return inner, "", ""
