"""The registry through its live HTTP server (uvicorn, as in production) with real clients:
skopeo, docker (a private dockerd), podman and oras-py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import skopeo
from tests.support.tools import REPO_ROOT, free_port, require, require_debian_app

from .ocilayout import multi_platform_layout

ORG = "regtest"
PASSWORD = "registry-test-password"
SOURCE_MANIFEST = "sha256:df3611ae97e7673a9c39e3bb1b53477bb00630fd24664aaead85b07c6527ae38"


@dataclass
class Live:
    stack: object
    host: str
    robot: str
    token: str
    workdir: Path

    @property
    def robot_creds(self) -> str:
        return f"{self.robot}:{self.token}"

    @property
    def skopeo_env(self) -> dict[str, str]:
        # skopeo keeps a blob-location cache under $HOME; keep it inside the test.
        return {"HOME": str(self.workdir / "home"), "PATH": "/usr/bin:/bin:/usr/sbin"}

    def skopeo(self, *args: str, timeout: float = 300) -> str:
        return skopeo.skopeo(*args, env=self.skopeo_env, timeout=timeout)

    def push(self, source: str, dest: str, *extra: str) -> None:
        """skopeo copy of ``source`` to ``dest`` as the robot."""
        skopeo.push(source, dest, self.robot_creds, *extra, env=self.skopeo_env)

    def pull(self, source: str, dest: str, *extra: str) -> None:
        """skopeo copy of ``source`` to ``dest`` as the robot."""
        skopeo.pull(source, dest, self.robot_creds, *extra, env=self.skopeo_env)

    def remote_digest(self, ref: str, creds: str | None = None) -> str:
        raw = self.raw_manifest(ref, creds)
        return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()

    def raw_manifest(self, ref: str, creds: str | None = None) -> str:
        auth = ["--creds", creds] if creds else ["--no-creds"]
        return self.skopeo("inspect", "--tls-verify=false", *auth, "--raw", f"docker://{ref}")


@pytest.fixture(scope="module")
def live(stack, tmp_path_factory) -> Live:
    stack.create_user("regadmin", PASSWORD)
    stack.create_org(ORG, "regadmin")
    stack.create_repository(f"{ORG}/web")
    stack.create_repository(f"{ORG}/pub", is_public=True)
    robot, token = stack.create_robot(ORG, "ci", {"web": "write", "pub": "write"})
    workdir = tmp_path_factory.mktemp("registry-clients")
    (workdir / "home").mkdir()
    return Live(stack, stack.host, robot, token, workdir)


@pytest.fixture(scope="module")
def pushed(live) -> str:
    """debian-app pushed by the robot as ``regtest/web:v1`` (OCI, as in the layout)."""
    source = require_debian_app()
    live.push(f"oci:{source}:latest", f"docker://{live.host}/{ORG}/web:v1")
    return f"{live.host}/{ORG}/web:v1"


def test_it_round_trips_debian_app_with_skopeo_in_oci(live, pushed, tmp_path):
    assert live.remote_digest(pushed, live.robot_creds) == SOURCE_MANIFEST
    out = tmp_path / "out"
    live.pull(f"docker://{pushed}", f"oci:{out}:v1")
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == SOURCE_MANIFEST
    source = require_debian_app()
    for blob in (source / "blobs" / "sha256").iterdir():
        assert (out / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()


def test_it_round_trips_debian_app_with_skopeo_as_docker_v2s2(live, tmp_path):
    source = require_debian_app()
    ref = f"{live.host}/{ORG}/web:v2s2"
    live.push(f"oci:{source}:latest", f"docker://{ref}", "--format", "v2s2")
    raw = live.raw_manifest(ref, live.robot_creds)
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    out = tmp_path / "dir"
    live.pull(f"docker://{ref}", f"dir:{out}")
    pulled = (out / "manifest.json").read_bytes()
    assert pulled == raw.encode()
    digest = "sha256:" + hashlib.sha256(pulled).hexdigest()
    inspected = json.loads(
        live.skopeo("inspect", "--tls-verify=false", "--creds", live.robot_creds, f"docker://{ref}")
    )
    assert inspected["Digest"] == digest


def test_it_copies_a_multi_platform_index_with_skopeo_all(live, tmp_path):
    index = multi_platform_layout(tmp_path / "multi")
    ref = f"{live.host}/{ORG}/web:multi"
    live.push(f"oci:{tmp_path / 'multi'}:latest", f"docker://{ref}", "--all")
    assert live.raw_manifest(ref, live.robot_creds).encode() == index
    out = tmp_path / "back"
    live.pull(f"docker://{ref}", f"oci:{out}:multi", "--all")
    pulled = json.loads((out / "index.json").read_text())["manifests"][0]["digest"]
    assert pulled == "sha256:" + hashlib.sha256(index).hexdigest()
    arm = live.skopeo(
        "inspect", "--tls-verify=false", "--creds", live.robot_creds,
        "--override-arch", "arm64", f"docker://{ref}",
    )  # fmt: skip
    assert json.loads(arm)["Architecture"] == "arm64"


def test_it_lets_anyone_pull_a_public_repository_without_credentials(live, tmp_path):
    source = require_debian_app()
    ref = f"{live.host}/{ORG}/pub:v1"
    live.push(f"oci:{source}:latest", f"docker://{ref}")
    assert live.remote_digest(ref) == SOURCE_MANIFEST
    # ... but not a private one, which looks the same as one that does not exist.
    for name in ("web:v1", "nothing:v1"):
        result = subprocess.run(
            [require("skopeo"), "inspect", "--tls-verify=false", "--no-creds", "--raw",
             f"docker://{live.host}/{ORG}/{name}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode != 0
        assert "authentication required" in result.stderr or "unauthorized" in result.stderr


def test_it_mounts_blobs_across_repositories(live, pushed):
    admin = f"regadmin:{PASSWORD}"
    live.skopeo(
        "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        "--src-creds", admin, "--dest-creds", admin,
        f"docker://{pushed}", f"docker://{live.host}/{ORG}/mounted:v1",
    )  # fmt: skip
    # skopeo mounts from whichever repository its blob cache saw the layers in last.
    log = live.stack.web_log.read_text()
    mounts = [
        line for line in log.splitlines() if f"POST /v2/{ORG}/mounted/blobs/uploads/?from=" in line
    ]
    assert len(mounts) >= 3, "skopeo did not try to mount the layers"
    assert all(" 201 " in line for line in mounts)
    big_layers = [
        layer["digest"]
        for layer in json.loads(live.raw_manifest(pushed, live.robot_creds))["layers"][:2]
    ]
    for digest in big_layers:
        assert any(digest.replace(":", "%3A") in line for line in mounts), digest
    # Over plain HTTP too: a caller who cannot read the source gets an upload session instead.
    layer = json.loads(live.raw_manifest(pushed, live.robot_creds))["layers"][0]["digest"]
    url = f"http://{live.host}/v2/{ORG}/pub/blobs/uploads/?mount={layer}&from={ORG}/web"
    assert requests.post(url, auth=(live.robot, live.token), timeout=30).status_code == 201
    _, other_token = live.stack.create_robot(ORG, "pubonly", {"pub": "write"})
    fallback = requests.post(url, auth=(f"{ORG}+pubonly", other_token), timeout=30)
    assert fallback.status_code == 202
    assert fallback.headers["Location"].startswith(f"/v2/{ORG}/pub/blobs/uploads/")


def test_it_works_with_docker_login_push_pull_and_run(live, pushed, dockerd):
    ref = f"{live.host}/{ORG}/web:docker"
    with dockerd.logged_in(live.host, live.robot, live.token):
        dockerd.pull(pushed)
        dockerd.docker("tag", pushed, ref)
        dockerd.docker("push", ref)
        dockerd.docker("rmi", ref, pushed)
        assert dockerd.docker("images", "-q", ref).stdout.strip() == b""
        dockerd.pull(ref)
        run = dockerd.run(ref, "cat", "/etc/debian_version")
        assert run.stdout.strip()
        wrong = dockerd.login(live.host, live.robot, "WRONG", check=False)
        assert wrong.returncode != 0
    # Users log in with their password; anonymous pulls of public repositories need no login.
    with dockerd.logged_in(live.host, "regadmin", PASSWORD):
        pass
    live.skopeo(
        "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
        "--src-creds", live.robot_creds, "--dest-creds", live.robot_creds,
        f"docker://{pushed}", f"docker://{live.host}/{ORG}/pub:docker",
    )  # fmt: skip
    dockerd.docker("pull", f"{live.host}/{ORG}/pub:docker")
    denied = dockerd.docker("pull", ref, check=False)
    assert denied.returncode != 0


def test_it_works_with_podman_push_and_pull(live, pushed, podman):
    podman.login(live.host, live.robot, live.token)
    image_id = podman.pull(pushed)
    ref = f"{live.host}/{ORG}/web:podman"
    podman("tag", pushed, ref)
    podman("push", "--tls-verify=false", ref)
    podman("rmi", "-f", ref, pushed)
    assert podman.pull(ref) == image_id


def test_it_pushes_and_pulls_an_artifact_with_oras(live, tmp_path, monkeypatch):
    import oras.client

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("release notes\n")
    client = oras.client.OrasClient(hostname=live.host, insecure=True)
    client.login(username=live.robot, password=live.token, hostname=live.host)
    ref = f"{live.host}/{ORG}/web:notes"
    response = client.push(target=ref, files=["notes.txt"])
    assert response.status_code == 201
    out = tmp_path / "pulled"
    out.mkdir()
    files = client.pull(target=ref, outdir=str(out))
    assert [Path(f).read_text() for f in files] == ["release notes\n"]
    manifest = client.get_manifest(ref)
    assert manifest["layers"][0]["annotations"]["org.opencontainers.image.title"] == "notes.txt"


@pytest.fixture(scope="module")
def streaming_host(live):
    """A second web server on the stack's database and storage, serving the registry's
    streaming ASGI handler (``quaysquash.registry.asgi``) with the production command line."""
    from quaysquash.core import processes

    port = free_port()
    command = [
        "quaysquash.registry.asgi:application" if c == "quaysquash.asgi:application" else c
        for c in processes.web_command(port=port, access_log=True)
    ]
    log = live.workdir / "streaming-web.log"
    child = processes.Child(
        "streaming-web", command, env=live.stack.env, cwd=REPO_ROOT, log=log
    ).start()
    try:
        processes.wait_until(
            lambda: processes.http_ok(f"http://127.0.0.1:{port}{processes.HEALTH_PATH}"),
            timeout=60,
            alive=[child],
            what="the streaming web server",
        )
        yield f"127.0.0.1:{port}", log
    finally:
        child.stop(timeout=15)


def test_it_round_trips_through_the_streaming_upload_handler(live, streaming_host, tmp_path):
    host, log = streaming_host
    # Fresh random content: nothing to mount or skip, every blob is really uploaded.
    index = multi_platform_layout(tmp_path / "big", payload=os.urandom(8 * 1024 * 1024))
    ref = f"{host}/{ORG}/web:streamed"
    live.push(f"oci:{tmp_path / 'big'}:latest", f"docker://{ref}", "--all")
    assert live.raw_manifest(ref, live.robot_creds).encode() == index
    assert " 202 " in next(line for line in log.read_text().splitlines() if "PATCH" in line)
    out = tmp_path / "out"
    live.pull(f"docker://{ref}", f"oci:{out}:v1", "--all")
    for blob in (tmp_path / "big" / "blobs" / "sha256").iterdir():
        assert (out / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()
    # Staged request bodies live in the storage's staging area ("tmp/" on the local driver).
    assert not list((live.stack.storage_root / "tmp").glob("body-*"))


def test_it_lets_docker_mount_shared_layers_from_another_repository(live, pushed, dockerd):
    """Distribution spec, "Mounting a blob from another repository": docker pushes an image
    whose layers it pulled from another repository of this registry with
    ``?mount=<digest>&from=<repo>``; its token carries pull on the source, so every mount is a
    201 and no layer is uploaded again."""
    with dockerd.logged_in(live.host, "regadmin", PASSWORD):
        dockerd.pull(pushed)
        ref = f"{live.host}/{ORG}/docker-mounted:v1"
        dockerd.docker("tag", pushed, ref)
        before = len(live.stack.web_log.read_text())
        dockerd.docker("push", ref)
        dockerd.docker("rmi", ref)
    log = live.stack.web_log.read_text()[before:].splitlines()
    target = f"/v2/{ORG}/docker-mounted/blobs/uploads/"
    mounts = [line for line in log if f"POST {target}?" in line and "mount=" in line]
    layers = json.loads(live.raw_manifest(pushed, live.robot_creds))["layers"]
    assert len(mounts) >= len(layers), "\n".join(log)
    assert all(" 201 " in line for line in mounts), "\n".join(mounts)
    # Only docker's own image config (it writes a new one) may be uploaded, never a layer.
    uploaded = [line for line in log if f"PUT {target}" in line]
    for layer in layers:
        assert not [line for line in uploaded if layer["digest"].split(":")[1] in line], layer
