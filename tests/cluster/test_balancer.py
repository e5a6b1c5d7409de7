"""The test suite's round-robin balancer (tests/support/balancer.py), against two tiny servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.balancer import RoundRobinBalancer


class _Named(BaseHTTPRequestHandler):
    """Answers with its server's name; a POST to .../uploads/ opens a session (Location)."""

    protocol_version = "HTTP/1.1"

    def _answer(self, status: int = 200, location: str = "") -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length) if length else b""
        body = self.server.name.encode() + b" " + str(len(received)).encode()  # type: ignore[attr-defined]
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer(202, "/v2/acme/x/blobs/uploads/abc?_state=1")

    do_PATCH = do_PUT = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def backends() -> Iterator[list[str]]:
    servers = []
    for name in ("one", "two"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_it_alternates_requests_even_on_one_kept_alive_connection(backends):
    balancer = RoundRobinBalancer(backends).start()
    try:
        with requests.Session() as session:
            names = [session.get(f"{balancer.url}/x").text.split()[0] for _ in range(4)]
            reply = session.get(f"{balancer.url}/x")
        assert names == ["one", "two", "one", "two"]
        assert reply.headers["Connection"] == "close"
    finally:
        balancer.stop()


def test_it_sends_each_request_of_an_upload_session_to_the_other_backend(backends):
    balancer = RoundRobinBalancer(backends).start()
    try:
        opened = requests.post(f"{balancer.url}/v2/acme/x/blobs/uploads/", data=b"")
        requests.get(f"{balancer.url}/unrelated")  # takes a turn
        session = f"{balancer.url}{opened.headers['Location']}"
        answers = [requests.patch(session, data=b"12345").text for _ in range(3)]
        done = requests.put(session, data=b"").text
    finally:
        balancer.stop()
    assert opened.text.split()[0] == "one"
    assert [a.split()[0] for a in answers] == ["two", "one", "two"]
    assert {a.split()[1] for a in answers} == {"5"}  # the bodies went through whole
    assert done.split()[0] == "one"
