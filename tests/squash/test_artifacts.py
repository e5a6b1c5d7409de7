"""Only container images are squashed (resolve.require_container_image): an ORAS artifact and a
Helm chart, pushed with the real oras client, answer ``415 NOT_AN_IMAGE`` on every surface (the
pull by tag and by digest, GET and HEAD, the priming API, the prime command), and no build is
ever queued for them."""

from __future__ import annotations

import json
import os
import tarfile

import pytest
import requests

from squashengine.layoutwriter import add_file

from .conftest import PASSWORD

AUTH = ("alice", PASSWORD)
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def _chart(path) -> None:
    """A chart package as ``helm package`` makes it: a gzipped tar of the chart's files."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (
            ("demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
            ("demo/values.yaml", "replicas: 1\n"),
        ):
            add_file(tar, name, text.encode())


@pytest.fixture(scope="module")
def artifacts(site, tmp_path_factory):
    """acme/charts:demo (Helm-chart-shaped) and acme/notes:v1 (an ORAS file artifact)."""
    import oras.client

    work = tmp_path_factory.mktemp("artifacts")
    client = oras.client.OrasClient(hostname=site.stack.host, insecure=True)
    client.login(username="alice", password=PASSWORD, hostname=site.stack.host)
    _chart(work / "demo-0.1.0.tgz")
    (work / "config.json").write_text(json.dumps({"name": "demo", "version": "0.1.0"}))
    (work / "notes.txt").write_text("release notes\n")
    host = site.stack.host
    old = os.getcwd()
    os.chdir(work)  # oras-py names layers after the paths it is given
    try:
        pushed = client.push(
            target=f"{host}/acme/charts:demo",
            files=[f"demo-0.1.0.tgz:{HELM_CHART}"],
            manifest_config=f"config.json:{HELM_CONFIG}",
        )
        assert pushed.status_code == 201, pushed.text
        pushed = client.push(target=f"{host}/acme/notes:v1", files=["notes.txt"])
        assert pushed.status_code == 201, pushed.text
    finally:
        os.chdir(old)
    return {
        "acme/charts:demo": client.get_manifest(f"{host}/acme/charts:demo"),
        "acme/notes:v1": client.get_manifest(f"{host}/acme/notes:v1"),
    }


def _digest(site, repo: str, tag: str) -> str:
    response = requests.head(
        f"{site.url}/v2/{repo}/manifests/{tag}",
        auth=AUTH,
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    return response.headers["Docker-Content-Digest"]


def _is_not_an_image(response: requests.Response, head: bool = False) -> None:
    assert response.status_code == 415, response.text
    if head:
        return
    [error] = response.json()["errors"]
    assert error["code"] == "NOT_AN_IMAGE"
    assert error["message"].startswith("not a container image")
    assert error["detail"]["configMediaType"] != "application/vnd.oci.image.config.v1+json"


@pytest.mark.parametrize("ref", ["acme/charts:demo", "acme/notes:v1"])
def test_it_answers_415_not_an_image_on_every_surface(site, artifacts, ref):
    repo, tag = ref.split(":")
    manifest = artifacts[ref]
    if repo == "acme/charts":
        assert manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
        assert [layer["mediaType"] for layer in manifest["layers"]] == [HELM_CHART]
    else:
        # What oras-py writes: an unknown config, the file as a (non-tar) "layer".
        assert manifest["config"]["mediaType"] not in (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.docker.container.image.v1+json",
        )
    url = site.squash_url(repo, tag)
    first = requests.get(url, auth=AUTH)
    _is_not_an_image(first)
    assert requests.get(url, auth=AUTH).json() == first.json()  # the same, every time
    _is_not_an_image(requests.head(url, auth=AUTH), head=True)
    by_digest = f"{site.url}/c1/squash/{repo}@{_digest(site, repo, tag)}"
    _is_not_an_image(requests.get(by_digest, auth=AUTH))
    _is_not_an_image(requests.get(site.state_url(repo, tag), auth=AUTH))
    _is_not_an_image(requests.post(site.state_url(repo, tag), auth=AUTH))
    prime = site.stack.manage("prime", ref, check=False)
    assert prime.returncode != 0 and "not a container image" in prime.stderr
    assert site.squash_rows(repo) == []  # nothing was ever queued
