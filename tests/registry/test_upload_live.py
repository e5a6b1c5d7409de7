"""Uploads over the live server (real HTTP, the streaming upload handler): chunk order,
status with a pull token, sha512."""

from __future__ import annotations

from .conftest import digest_of
from .uploading import DATA, sha512_of


def test_it_enforces_chunk_order_over_the_live_server(live_org):
    """The same over real HTTP and the streaming upload handler (the body is on disk before
    the view runs; a refused chunk must leave nothing behind)."""
    import requests

    repo = f"{live_org.org}/app"
    auth = live_org.basic()
    started = requests.post(live_org.url(f"/v2/{repo}/blobs/uploads/"), auth=auth, timeout=30)
    location = live_org.url(started.headers["Location"])
    first = requests.patch(
        location, data=DATA[:1000], headers={"Content-Range": "0-999"}, auth=auth, timeout=30
    )
    assert first.status_code == 202
    late = requests.patch(
        location, data=DATA[:1000], headers={"Content-Range": "0-999"}, auth=auth, timeout=30
    )
    assert late.status_code == 416 and late.headers["Range"] == "0-999"
    digest = digest_of(DATA)
    rest = {"Content-Range": f"1000-{len(DATA) - 1}"}
    stale = requests.put(
        f"{location}?digest={digest}",
        data=DATA[1000:],
        headers={"Content-Range": "0-99"},
        auth=auth,
        timeout=30,
    )
    assert stale.status_code == 416 and stale.headers["Range"] == "0-999"
    status = requests.get(location, auth=auth, timeout=30)
    assert status.status_code == 204 and status.headers["Range"] == "0-999"
    done = requests.put(
        f"{location}?digest={digest}", data=DATA[1000:], headers=rest, auth=auth, timeout=30
    )
    assert done.status_code == 201
    from tests.support.waiting import wait_for

    # The server deletes an unclaimed body just after it has answered.
    staging = live_org.stack.storage_root / "tmp"
    wait_for(lambda: not list(staging.glob("body-*")), timeout=10, what="bodies deleted")


def test_it_reports_upload_status_to_a_pull_token_over_the_live_server(live_org):
    from .live import TokenFlow

    repo = f"{live_org.org}/app"
    pusher = TokenFlow(live_org.stack.url, (live_org.robot, live_org.robot_token))
    started = pusher.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202
    assert pusher.request("PATCH", started.headers["Location"], data=b"12345").status_code == 202
    reader = TokenFlow(live_org.stack.url, (live_org.robot, live_org.robot_token))
    reader.token = reader.fetch_token(
        [f"repository:{repo}:pull"], live_org.url("/v2/auth"), pusher.challenges[0]["service"]
    )
    status = reader.request("GET", started.headers["Location"])
    assert status.status_code == 204 and status.headers["Range"] == "0-4"
    assert reader.challenges == []  # the pull token sufficed


def test_it_accepts_sha512_uploads_over_the_live_server(live_org):
    """Through the streaming handler, whose first chunk arrives hashed with sha256."""
    import requests

    repo, auth = f"{live_org.org}/app", live_org.basic()
    digest = sha512_of(DATA)
    started = requests.post(live_org.url(f"/v2/{repo}/blobs/uploads/"), auth=auth, timeout=30)
    location = live_org.url(started.headers["Location"])
    requests.patch(location, data=DATA[:4096], auth=auth, timeout=30)
    requests.patch(location, data=DATA[4096:], auth=auth, timeout=30)
    done = requests.put(f"{location}?digest={digest}", auth=auth, timeout=30)
    assert done.status_code == 201 and done.headers["Docker-Content-Digest"] == digest
    got = requests.get(live_org.url(f"/v2/{repo}/blobs/{digest}"), auth=auth, timeout=30)
    assert got.content == DATA and got.headers["Docker-Content-Digest"] == digest
