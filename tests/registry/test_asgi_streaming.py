"""The registry's ASGI handler: upload bodies are staged as they arrive, hashed once, never copied."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from quaysquash.registry.asgi import RegistryASGIHandler
from quaysquash.registry.storage import get_storage
from quaysquash.storage import blob_key
from quaysquash.storage import get_storage as get_driver

from .conftest import digest_of

DATA = os.urandom(2 * 1024 * 1024 + 3)
CHUNKS = [DATA[i : i + 65536] for i in range(0, len(DATA), 65536)]


def call(method: str, url: str, auth: str, chunks: list[bytes], disconnect: bool = False):
    """One request through the handler, body sent in ``chunks`` as a server would."""
    parts = urlsplit(url)

    async def run():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"authorization", auth.encode())],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        communicator = ApplicationCommunicator(RegistryASGIHandler(), scope)
        chunks_ = chunks or [b""]
        for i, chunk in enumerate(chunks_):
            more = disconnect or i < len(chunks_) - 1
            await communicator.send_input(
                {"type": "http.request", "body": chunk, "more_body": more}
            )
        if disconnect:
            await communicator.send_input({"type": "http.disconnect"})
            await communicator.wait(timeout=10)
            return None, {}
        start = await communicator.receive_output(timeout=20)
        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=10)
        return start["status"], headers

    return async_to_sync(run)()


def leftovers() -> list[str]:
    """Upload objects in the storage and staged bodies on this host."""
    driver = get_driver()
    staged = [p.name for p in driver.staging_dir().iterdir()]
    return sorted([info.key for info in driver.list("uploads/")] + staged)


def stored(digest: str) -> bytes:
    return get_driver().read_bytes(blob_key(digest))


@pytest.fixture
def admin_auth(transactional_db, world) -> str:
    return world.admin.auth


def test_it_stores_a_monolithic_upload_without_copying_it(admin_auth):
    digest = digest_of(DATA)
    status, headers = call(
        "POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", admin_auth, CHUNKS
    )
    assert status == 201
    assert headers["docker-content-digest"] == digest
    assert stored(digest) == DATA
    assert leftovers() == []


def test_it_commits_staged_chunks_and_finishes_the_session(admin_auth):
    status, headers = call("POST", "/v2/acme/private/blobs/uploads/", admin_auth, [])
    assert status == 202
    location = headers["location"]
    status, headers = call("PATCH", location, admin_auth, CHUNKS[:10])
    assert status == 202
    assert len(get_driver().list("uploads/").__next__().key) > 0  # a chunk object
    status, headers = call("PATCH", location, admin_auth, CHUNKS[10:])
    assert headers["range"] == f"0-{len(DATA) - 1}"
    status, headers = call("PUT", f"{location}?digest={digest_of(DATA)}", admin_auth, [])
    assert status == 201
    assert stored(digest_of(DATA)) == DATA
    assert leftovers() == []


def test_it_refuses_a_wrong_digest_and_keeps_nothing(admin_auth):
    wrong = digest_of(b"other")
    status, _ = call("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", admin_auth, CHUNKS)
    assert status == 400
    assert not get_storage().exists(wrong) and not get_storage().exists(digest_of(DATA))
    assert leftovers() == []


def test_it_leaves_nothing_behind_when_the_client_disconnects_mid_body(admin_auth):
    digest = digest_of(DATA)
    call("POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", admin_auth, CHUNKS[:5],
         disconnect=True)  # fmt: skip
    assert leftovers() == []
    assert not get_storage().exists(digest)


def test_it_leaves_other_requests_to_django(admin_auth):
    status, headers = call("GET", "/v2/", admin_auth, [])
    assert status == 200
    assert headers["docker-distribution-api-version"] == "registry/2.0"


def test_it_never_holds_a_large_body_in_memory(admin_auth):
    import hashlib
    import tracemalloc

    chunk = b"\x5a" * 1024 * 1024
    count = 64
    digest = "sha256:" + hashlib.sha256(chunk * count).hexdigest()
    tracemalloc.start()
    try:
        status, _ = call(
            "POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", admin_auth, [chunk] * count
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 201
    assert get_storage().size(digest) == count * len(chunk)
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes for a 64 MiB upload"


def test_it_hashes_a_body_announced_as_sha512_with_sha512(admin_auth):
    import hashlib

    digest = "sha512:" + hashlib.sha512(DATA).hexdigest()
    from quaysquash.registry.asgi import _announced_digest

    assert _announced_digest({"query_string": f"digest={digest}".encode()}) == digest
    assert _announced_digest({"query_string": b"digest=sha512:short"}) is None
