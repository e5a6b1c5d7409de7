"""Real upstreams on loopback for the proxy tests: Debian's docker-registry, anonymous and with
htpasswd Basic auth, and a second quaysquash (bearer tokens), each holding debian-app."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.reference_registry import ReferenceRegistry
from tests.support.tools import require, require_debian_app

# The manifest digest of /work/shared/images/debian-app (OCI, as in the layout).
DEBIAN_APP_DIGEST = "sha256:df3611ae97e7673a9c39e3bb1b53477bb00630fd24664aaead85b07c6527ae38"
UPSTREAM_USER = "upstream-user"
UPSTREAM_PASSWORD = "upstream-secret-never-logged"
UP_ORG = "up"
UP_ADMIN_PASSWORD = "upstream-admin-password"


def skopeo(*args: str, home: Path, timeout: float = 300) -> str:
    result = subprocess.run(
        [require("skopeo"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    assert result.returncode == 0, f"skopeo {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def push_debian_app(ref: str, home: Path, creds: str | None = None) -> None:
    auth = ["--dest-creds", creds] if creds else []
    skopeo(
        "copy", "--dest-tls-verify=false", *auth,
        f"oci:{require_debian_app()}:latest", f"docker://{ref}", home=home,
    )  # fmt: skip


@pytest.fixture(scope="session")
def skopeo_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="qsproxy-home-"))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _registry(skopeo_home: Path, **auth) -> Iterator[ReferenceRegistry]:
    workdir = Path(tempfile.mkdtemp(prefix="qsproxy-upstream-"))
    registry = ReferenceRegistry(workdir, **auth).start()
    try:
        push_debian_app(f"{registry.host}/library/debian-app:v1", skopeo_home, registry.creds)
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def anon_upstream(skopeo_home) -> Iterator[ReferenceRegistry]:
    """An anonymous docker-registry holding ``library/debian-app:v1``."""
    yield from _registry(skopeo_home)


@pytest.fixture(scope="session")
def basic_upstream(skopeo_home) -> Iterator[ReferenceRegistry]:
    """A docker-registry with htpasswd Basic auth holding ``library/debian-app:v1``."""
    yield from _registry(skopeo_home, username=UPSTREAM_USER, password=UPSTREAM_PASSWORD)


@dataclass
class QuayUpstream:
    """A second quaysquash as the upstream: bearer token challenges, robots, public repos."""

    stack: object
    robot: str
    token: str

    @property
    def host(self) -> str:
        return self.stack.host

    @property
    def url(self) -> str:
        return self.stack.url


@pytest.fixture(scope="session")
def quay_upstream(skopeo_home) -> Iterator[QuayUpstream]:
    """``up/app:v1`` (private, a robot may read it) and ``up/pub:v1`` (public) on a stack."""
    from tests.support.services import Stack

    workdir = Path(tempfile.mkdtemp(prefix="qsproxy-quay-"))
    stack = Stack(workdir, beat=False, concurrency=1).start()
    try:
        stack.create_user("upadmin", UP_ADMIN_PASSWORD)
        stack.create_org(UP_ORG, "upadmin")
        stack.python(
            "from quaysquash.accounts.models import Namespace, Repository\n"
            f"ns = Namespace.objects.get(name={UP_ORG!r})\n"
            "Repository.objects.create(namespace=ns, name='app')\n"
            "Repository.objects.create(namespace=ns, name='pub', is_public=True)\n"
        )
        robot, token = stack.create_robot(UP_ORG, "mirror", {"app": "read"})
        admin = f"upadmin:{UP_ADMIN_PASSWORD}"
        push_debian_app(f"{stack.host}/{UP_ORG}/app:v1", skopeo_home, admin)
        push_debian_app(f"{stack.host}/{UP_ORG}/pub:v1", skopeo_home, admin)
        yield QuayUpstream(stack, robot, token)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
