"""A blob ``GET`` the upstream answers while it is stored: the client gets each chunk as it
arrives, and a thread of ours writes the same chunks to storage, which verifies the digest.

Clients check a blob's digest themselves (docker, podman, skopeo all do), so relaying bytes
before the end of the copy is safe for them; storage still makes the blob visible only when all
of it arrived and matched. A client that goes away stops the copy (the fetch task or the next
pull copies it again); an upstream that breaks off ends the response short of its
``Content-Length``, so the client fails loudly.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import StreamingHttpResponse

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Blob

from . import blobstore, fetching, upstream
from .models import BlobFetch, ProxyOrganization

# Smaller blobs are copied whole and verified before the first byte goes out: waiting for them
# costs little, and configs and small layers are then never sent unverified.
RELAY_MIN_BYTES = 4 * 1024 * 1024
# Chunks (1 MiB) buffered between the client and the storage writer: bounds memory per relay.
QUEUE_CHUNKS = 8
_END = object()


class _Aborted(Exception):
    pass


class _StorageWriter:
    """Writes queued chunks as blob ``digest`` on a thread of its own, which also keeps the
    ``BlobFetch`` heartbeat and releases the claim (database work stays off response threads)."""

    def __init__(self, digest: str) -> None:
        self.digest = digest
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"relay-{digest[7:19]}", daemon=True)
        self.thread.start()

    def _chunks(self) -> Iterator[bytes]:
        while (item := self.queue.get()) is not _END:
            if isinstance(item, _Aborted):
                raise item
            yield item

    def _run(self) -> None:
        try:
            blobstore.store_blob(self.digest, fetching._with_heartbeat(self.digest, self._chunks()))
        except BaseException as exc:  # handed to the response thread
            self.error = exc
        finally:
            BlobFetch.objects.filter(digest=self.digest, owner=fetching._owner()).delete()
            connections.close_all()

    def _offer(self, item: object) -> None:
        # Never block on a writer that is gone (a storage error): its queue drains no more.
        while self.thread.is_alive():
            try:
                self.queue.put(item, timeout=1.0)
                return
            except queue.Full:
                continue
        if item is not _END and not isinstance(item, _Aborted):
            raise self.error or RuntimeError("storage writer stopped")

    def put(self, chunk: bytes) -> None:
        self._offer(chunk)

    def finish(self) -> None:
        self._offer(_END)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        self._offer(_Aborted("client went away"))
        self.thread.join()


def relay(
    request, proxy: ProxyOrganization, repository: Repository, blob: Blob
) -> StreamingHttpResponse | None:
    """A response streaming ``blob`` from the upstream while it is stored, or ``None`` when
    another process is copying it already (the caller then waits for that copy)."""
    if not fetching._claim(blob.digest):
        return None
    client = proxy.client()
    try:
        chunks = client.blob_chunks(
            repository.name, blob.digest, blob.size, settings.QS_PROXY_MAX_BLOB_BYTES
        )
    except upstream.UpstreamError:
        client.close()
        BlobFetch.objects.filter(digest=blob.digest, owner=fetching._owner()).delete()
        raise
    writer = _StorageWriter(blob.digest)

    def sync_chunks() -> Iterator[bytes]:
        finished = False
        try:
            for chunk in chunks:
                writer.put(chunk)
                yield chunk
            writer.finish()  # verification failures end here, after the last byte
            finished = True
        finally:
            if not finished and writer.thread.is_alive():
                writer.abort()
            client.close()

    async def async_chunks() -> AsyncIterator[bytes]:
        # Upstream reads block: each one runs on a thread, never on the event loop.
        gen = sync_chunks()
        try:
            while (chunk := await asyncio.to_thread(next, gen, None)) is not None:
                yield chunk
        finally:
            await asyncio.to_thread(gen.close)

    content = async_chunks() if isinstance(request, ASGIRequest) else sync_chunks()
    response = StreamingHttpResponse(content, status=200)
    response["Docker-Content-Digest"] = blob.digest
    response["Content-Type"] = blob.media_type or "application/octet-stream"
    response["Content-Length"] = str(blob.size)
    return response
