"""Pulling through a proxy organization with real clients, cold and cached: skopeo, docker and
podman against a quaysquash whose organizations proxy real registries on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.tools import require_debian_app
from tests.support.waiting import wait_for

from .conftest import DEBIAN_APP_DIGEST, UP_ORG, UPSTREAM_PASSWORD, UPSTREAM_USER

IMAGE = "library/debian-app:v1"


def assert_same_blobs(out: Path) -> None:
    source = require_debian_app()
    for blob in (source / "blobs" / "sha256").iterdir():
        assert (out / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()


def copy_to_layout(site, ref: str, creds: str, out: Path) -> None:
    """``skopeo copy`` of ``ref`` from the proxy, as ``creds``, into the OCI layout ``out``."""
    site.skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, ref, f"oci:{out}:v1")


def test_it_pulls_through_with_skopeo_cold_then_from_cache(proxy_site, tmp_path):
    ref = f"docker://{proxy_site.host}/hub/{IMAGE}"
    cold = tmp_path / "cold"
    copy_to_layout(proxy_site, ref, proxy_site.creds, cold)
    index = json.loads((cold / "index.json").read_text())
    assert index["manifests"][0]["digest"] == DEBIAN_APP_DIGEST
    assert_same_blobs(cold)
    # The fetch task completes the whole image in storage, whatever the client fetched.
    wait_for(lambda: proxy_site.cached_complete("hub/library/debian-app"), timeout=120)
    warm = tmp_path / "warm"
    copy_to_layout(proxy_site, ref, proxy_site.creds, warm)
    assert_same_blobs(warm)


def test_it_pulls_through_with_docker_and_runs_the_image(proxy_site, dockerd):
    ref = f"{proxy_site.host}/hub/{IMAGE}"
    with dockerd.logged_in(proxy_site.host, proxy_site.robot, proxy_site.token):
        dockerd.pull(ref)
        run = dockerd.run(ref, "cat", "/etc/debian_version")
        assert run.stdout.strip()
        dockerd.docker("rmi", ref)
        dockerd.pull(ref)  # cached now


def test_it_pulls_through_with_podman(proxy_site, podman):
    podman.login(proxy_site.host, proxy_site.robot, proxy_site.token)
    ref = f"{proxy_site.host}/hub/{IMAGE}"
    podman.pull(ref)
    assert DEBIAN_APP_DIGEST in podman("image", "inspect", "--format", "{{.Digest}}", ref)


def test_it_pulls_through_from_an_htpasswd_upstream(proxy_site, basic_upstream, tmp_path):
    proxy_site.create_proxy_org(
        "basicproxy", basic_upstream.url, "--username", UPSTREAM_USER, password=UPSTREAM_PASSWORD
    )
    robot, token = proxy_site.robot_of("basicproxy")
    out = tmp_path / "out"
    ref = f"docker://{proxy_site.host}/basicproxy/{IMAGE}"
    copy_to_layout(proxy_site, ref, f"{robot}:{token}", out)
    assert_same_blobs(out)
    # The password is stored encrypted, never in clear.
    stored = proxy_site.query(
        "from quaysquash.proxy.models import ProxyOrganization\n"
        "print(ProxyOrganization.objects.get(namespace__name='basicproxy').password_encrypted)"
    )
    assert UPSTREAM_PASSWORD not in stored and stored


def test_it_pulls_through_from_a_bearer_token_upstream(proxy_site, quay_upstream, tmp_path):
    proxy_site.create_proxy_org(
        "quayproxy", quay_upstream.url, "--username", quay_upstream.robot,
        password=quay_upstream.token,
    )  # fmt: skip
    robot, token = proxy_site.robot_of("quayproxy")
    out = tmp_path / "out"
    ref = f"docker://{proxy_site.host}/quayproxy/{UP_ORG}/app:v1"
    copy_to_layout(proxy_site, ref, f"{robot}:{token}", out)
    assert_same_blobs(out)
