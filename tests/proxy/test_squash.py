"""Squashing through a proxy organization: ``curl … /c1/squash/<proxy org>/… | docker load``
fetches the image from the upstream on first use, then squashes it like a pushed one."""

from __future__ import annotations

import secrets

import requests

from tests.registry.ocilayout import multi_platform_layout
from tests.squash.dockerload import curl_into_docker_load

from .conftest import push_debian_app


def test_it_squashes_an_image_it_never_saw_and_docker_runs_it(proxy_site, anon_upstream, dockerd):
    # A tag no pull has touched yet: manifest and blobs come from the upstream on this request.
    tag = f"sq{secrets.token_hex(3)}"
    push_debian_app(f"{anon_upstream.host}/library/debian-app:{tag}", proxy_site.home)
    url = f"{proxy_site.stack.url}/c1/squash/hub/library/debian-app/{tag}"
    out = curl_into_docker_load(dockerd, proxy_site.creds, url)
    image = f"{proxy_site.host}/hub/library/debian-app:{tag}"
    assert f"Loaded image: {image}" in out
    run = dockerd.run(image, "cat", "/etc/os-release")
    assert b"Debian" in run.stdout
    # Cached: the second squash is served from the squash cache.
    again = curl_into_docker_load(dockerd, proxy_site.creds, url)
    assert "Loaded image" in again
    dockerd.docker("rmi", image)


def test_it_squashes_one_platform_of_an_index_fetching_only_what_it_needs(
    proxy_site, anon_upstream, tmp_path
):
    payload = secrets.token_bytes(64 * 1024)  # fresh blobs: nothing of them is in storage yet
    multi_platform_layout(tmp_path / "multi", payload=payload)
    proxy_site.skopeo(
        "copy", "--all", "--dest-tls-verify=false",
        f"oci:{tmp_path / 'multi'}:latest", f"docker://{anon_upstream.host}/library/multi:v1",
    )  # fmt: skip
    url = f"{proxy_site.stack.url}/c1/squash/hub/library/multi/v1?platform=linux/arm64&format=oci"
    robot, token = proxy_site.robot, proxy_site.token
    response = requests.get(url, auth=(robot, token), timeout=120)
    assert response.status_code == 200, response.text
    assert response.content[:512]  # an archive, not an error body
    # The other platform follows through the fetch task, so the whole index ends up cached.
    from tests.support.waiting import wait_for

    wait_for(lambda: proxy_site.cached_complete("hub/library/multi"), timeout=60)
    missing = requests.get(
        f"{proxy_site.stack.url}/c1/squash/hub/library/multi/v1?platform=linux/s390x",
        auth=(robot, token),
        timeout=60,
    )
    assert missing.status_code == 404
    assert "linux/amd64" in missing.json()["errors"][0]["message"]
