"""``/v2/squashed[-zstd]/<repo>``: squashed images pulled by real registry clients (skopeo,
docker, podman) from a live stack, with a robot token on a private repository."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.engine.oracles import docker_export
from tests.registry.ocilayout import multi_platform_layout
from tests.support.containerd import Containerd
from tests.support.tools import require, require_debian_app

from .conftest import PASSWORD

REPO = "acme/sqweb"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SOURCE_ANNOTATION = "io.quaysquash.squashed.source.digest"


class Puller:
    """The site, a private repository holding debian-app, and a robot that may read it."""

    def __init__(self, site, workdir: Path) -> None:
        self.site = site
        self.workdir = workdir
        (workdir / "home").mkdir(exist_ok=True)
        site.import_image(require_debian_app(), f"{REPO}:v1")
        self.robot, self.token = site.stack.create_robot("acme", "squasher", {"sqweb": "read"})
        self.host = site.stack.host

    @property
    def creds(self) -> str:
        return f"{self.robot}:{self.token}"

    def skopeo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [require("skopeo"), *args],
            capture_output=True,
            text=True,
            timeout=600,
            env={"HOME": str(self.workdir / "home"), "PATH": "/usr/bin:/bin:/usr/sbin"},
        )
        if check:
            assert result.returncode == 0, f"skopeo {' '.join(args)}:\n{result.stderr}"
        return result

    def raw(self, ref: str, creds: str | None = None) -> bytes:
        return self.skopeo(
            "inspect", "--raw", "--tls-verify=false", "--creds", creds or self.creds, ref
        ).stdout.encode()

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.site.url}{path}", auth=(self.robot, self.token), **kwargs)

    def evict(self, repo: str) -> None:
        """Delete every squash of ``repo``, rows and objects, as eviction does."""
        ns, name = repo.split("/", 1)
        self.site.stack.python(
            "from quaysquash.squash.eviction import _try_delete\n"
            "from quaysquash.squash.models import SquashedImage\n"
            f"rows = SquashedImage.objects.filter(repository__namespace__name={ns!r}, "
            f"repository__name={name!r})\n"
            "for row in list(rows): assert _try_delete(row), row\n"
            "assert not rows.all().exists()"
        )


@pytest.fixture(scope="module")
def puller(site, tmp_path_factory) -> Puller:
    return Puller(site, tmp_path_factory.mktemp("squashed-pulls"))


def oci_image(layout: Path) -> tuple[dict, dict]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs/sha256" / digest[7:]).read_text())
    config = json.loads((layout / "blobs/sha256" / manifest["config"]["digest"][7:]).read_text())
    return manifest, config


def source_config(puller: Puller) -> tuple[str, dict]:
    raw = puller.raw(f"docker://{puller.host}/{REPO}:v1")
    manifest = json.loads(raw)
    blob = puller.get(f"/v2/{REPO}/blobs/{manifest['config']['digest']}")
    return "sha256:" + hashlib.sha256(raw).hexdigest(), blob.json()


def test_it_copies_the_squashed_image_with_skopeo(puller, tmp_path):
    out = tmp_path / "oci"
    puller.skopeo(
        "copy", "--src-tls-verify=false", "--src-creds", puller.creds,
        f"docker://{puller.host}/squashed/{REPO}:v1", f"oci:{out}:v1",
    )  # fmt: skip
    manifest, config = oci_image(out)
    source_digest, source = source_config(puller)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"
    ]
    assert manifest["annotations"][SOURCE_ANNOTATION] == source_digest
    assert len(source["rootfs"]["diff_ids"]) > 1 and len(config["rootfs"]["diff_ids"]) == 1
    for key in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User"):
        assert config["config"].get(key) == source["config"].get(key)
    assert config["config"]["Labels"][SOURCE_ANNOTATION] == source_digest
    assert len(config["history"]) == 1 and config.get("created") == source.get("created")
    # The blob is gzip, the diff_id is the sha256 of what it decompresses to.
    layer = (out / "blobs/sha256" / manifest["layers"][0]["digest"][7:]).read_bytes()
    assert layer[:2] == b"\x1f\x8b" and layer[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    assert config["rootfs"]["diff_ids"] == [diff_id]


def test_it_answers_head_and_get_by_tag_and_digest_with_one_digest(puller):
    path = f"/v2/squashed/{REPO}/manifests/v1"
    accept = {"Accept": OCI_MANIFEST}
    head = requests.head(
        f"{puller.site.url}{path}", auth=(puller.robot, puller.token), headers=accept
    )
    assert head.status_code == 200
    digest = head.headers["Docker-Content-Digest"]
    got = puller.get(f"/v2/squashed/{REPO}/manifests/{digest}", headers=accept)
    assert got.status_code == 200 and got.headers["Docker-Content-Digest"] == digest
    assert "sha256:" + hashlib.sha256(got.content).hexdigest() == digest
    tags = puller.get(f"/v2/squashed/{REPO}/tags/list").json()
    assert tags == {"name": f"squashed/{REPO}", "tags": ["v1"]}
    # A client accepting only Docker's schema 2 gets that form, also found again by digest.
    docker = puller.get(path, headers={"Accept": DOCKER_MANIFEST})
    assert docker.json()["mediaType"] == DOCKER_MANIFEST
    again = puller.get(
        f"/v2/squashed/{REPO}/manifests/{docker.headers['Docker-Content-Digest']}",
        headers={"Accept": DOCKER_MANIFEST},
    )
    assert again.content == docker.content


def test_it_keeps_the_digest_and_bytes_after_eviction(puller):
    ref = f"docker://{puller.host}/squashed/{REPO}:v1"
    first = json.loads(puller.raw(ref))
    digest = "sha256:" + hashlib.sha256(puller.raw(ref)).hexdigest()
    layer = first["layers"][0]["digest"]
    puller.evict(REPO)
    # By digest, with nothing cached: rebuilt from the recorded source, byte for byte.
    by_digest = puller.get(
        f"/v2/squashed/{REPO}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
    )
    assert by_digest.status_code == 200
    assert "sha256:" + hashlib.sha256(by_digest.content).hexdigest() == digest
    puller.evict(REPO)
    # A layer GET alone (a client that kept the manifest) rebuilds too.
    blob = puller.get(f"/v2/squashed/{REPO}/blobs/{layer}")
    assert blob.status_code == 200
    assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == layer
    ranged = puller.get(f"/v2/squashed/{REPO}/blobs/{layer}", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == blob.content[10:20]


def test_it_serves_private_squashed_images_only_to_readers(puller, site):
    path = f"/v2/squashed/{REPO}/manifests/v1"
    anonymous = requests.get(f"{site.url}{path}")
    assert anonymous.status_code == 401
    assert f'scope="repository:squashed/{REPO}:pull"' in anonymous.headers["WWW-Authenticate"]
    stranger = requests.get(f"{site.url}{path}", auth=(site.other_robot, site.other_token))
    assert stranger.status_code == 404
    assert stranger.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    # Token endpoint: pull on squashed/<repo> iff pull on <repo>, never push.
    scope = f"repository:squashed/{REPO}:pull,push"
    token = requests.get(
        f"{site.url}/v2/auth", params={"scope": scope}, auth=(puller.robot, puller.token)
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    assert requests.get(f"{site.url}{path}", headers=bearer).status_code == 200
    other = requests.get(
        f"{site.url}/v2/auth", params={"scope": scope}, auth=(site.other_robot, site.other_token)
    ).json()["token"]
    assert (
        requests.get(f"{site.url}{path}", headers={"Authorization": f"Bearer {other}"}).status_code
        == 404
    )
    # Nothing can be pushed there.
    upload = requests.post(
        f"{site.url}/v2/squashed/{REPO}/blobs/uploads/", auth=("alice", PASSWORD)
    )
    assert upload.status_code == 403 and upload.json()["errors"][0]["code"] == "DENIED"
    put = requests.put(
        f"{site.url}{path}",
        data=b"{}",
        headers={"Content-Type": OCI_MANIFEST},
        auth=("alice", PASSWORD),
    )
    assert put.status_code == 403 and put.json()["errors"][0]["code"] == "DENIED"


def test_it_pulls_and_runs_the_squashed_image_with_docker(puller, dockerd):
    layered = f"{puller.host}/{REPO}:v1"
    squashed = f"{puller.host}/squashed/{REPO}:v1"
    with dockerd.logged_in(puller.host, puller.robot, puller.token):
        dockerd.pull(layered, squashed)
    layers = dockerd.docker("image", "inspect", "--format", "{{len .RootFS.Layers}}", squashed)
    assert layers.stdout.decode().strip() == "1"
    want = dockerd.run(layered, "python3", "/opt/app/main2.py").stdout
    got = dockerd.run(squashed, "python3", "/opt/app/main2.py").stdout
    assert got == want and got.decode().strip() == "v2"
    assert docker_export(dockerd, squashed) == docker_export(dockerd, layered)


def test_it_pulls_gzip_and_zstd_with_podman(puller, podman):
    podman.login(puller.host, puller.robot, puller.token)
    for scheme in ("squashed", "squashed-zstd"):
        ref = f"{puller.host}/{scheme}/{REPO}:v1"
        podman.pull(ref)
        layers = json.loads(podman("image", "inspect", ref))[0]["RootFS"]["Layers"]
        assert len(layers) == 1
    raw = json.loads(puller.raw(f"docker://{puller.host}/squashed-zstd/{REPO}:v1"))
    assert raw["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    gz = json.loads(puller.raw(f"docker://{puller.host}/squashed/{REPO}:v1"))
    # Same merged tar, other compression: the configs (diff_ids) agree, the layers do not.
    assert raw["config"]["digest"] == gz["config"]["digest"]
    assert raw["layers"][0]["digest"] != gz["layers"][0]["digest"]
    gz_digest = (
        "sha256:"
        + hashlib.sha256(puller.raw(f"docker://{puller.host}/squashed/{REPO}:v1")).hexdigest()
    )
    wrong = puller.get(f"/v2/squashed-zstd/{REPO}/manifests/{gz_digest}")
    assert wrong.status_code == 404 and wrong.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_it_squashes_each_platform_of_a_multi_platform_index(puller, site, tmp_path):
    multi_platform_layout(tmp_path / "multi")
    site.import_image(tmp_path / "multi", "acme/sqmulti:v1")
    alice = f"alice:{PASSWORD}"
    ref = f"docker://{puller.host}/squashed/acme/sqmulti:v1"
    index = json.loads(puller.raw(ref, alice))
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = sorted(m["platform"]["architecture"] for m in index["manifests"])
    assert platforms == ["amd64", "arm64"]
    out = tmp_path / "out"
    puller.skopeo(
        "copy", "--all", "--src-tls-verify=false", "--src-creds", alice, ref, f"oci:{out}:v1"
    )
    for entry in index["manifests"]:
        child = json.loads((out / "blobs/sha256" / entry["digest"][7:]).read_text())
        assert len(child["layers"]) == 1
    assert json.loads(puller.raw(ref, alice)) == index


@pytest.fixture
def containerd():
    engine = Containerd(Path(tempfile.mkdtemp(prefix="qsctr-", dir="/tmp"))).start()
    try:
        yield engine
    finally:
        engine.stop()


def test_it_pulls_gzip_and_zstd_with_containerd(puller, containerd):
    for scheme in ("squashed", "squashed-zstd"):
        ref = f"{puller.host}/{scheme}/{REPO}:v1"
        containerd.ctr(
            "images", "pull", "--plain-http", "--user", puller.creds, "--snapshotter", "native", ref
        )
        listed = containerd.ctr("images", "ls", "-q").stdout.split()
        assert ref in listed
        # Unpacked: the snapshot of the one layer holds the image's files.
        check = containerd.ctr("images", "check").stdout
        assert ref in check and "complete" in check
        run = containerd.ctr(
            "run", "--rm", "--snapshotter", "native", ref, f"qs-{scheme}",
            "python3", "/opt/app/main2.py",
        )  # fmt: skip
        assert run.stdout.strip() == "v2"


def test_it_answers_concurrent_cold_manifest_requests_from_one_build(puller):
    path = f"/v2/squashed/{REPO}/manifests/v1"
    puller.get(path, headers={"Accept": OCI_MANIFEST})
    puller.evict(REPO)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: puller.get(path, headers={"Accept": OCI_MANIFEST}), range(4))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.headers["Docker-Content-Digest"] for a in answers}) == 1
    rows = puller.site.squash_rows(REPO)
    gzip_rows = [r for r in rows if (r["format"], r["compression"]) == ("rootfs", "gzip")]
    assert [(r["state"], r["attempt"]) for r in gzip_rows] == [("ready", 1)]
