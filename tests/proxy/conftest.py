"""Real upstreams on loopback for the proxy tests: Debian's docker-registry, anonymous and with
htpasswd Basic auth, and a second quaysquash (bearer tokens), each holding debian-app."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.markers import database_backed
from tests.support.reference_registry import ReferenceRegistry
from tests.support.tools import require, require_debian_app

from .fakeupstream import FakeUpstream

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


@contextmanager
def reference_registry(prefix: str, **auth: str) -> Iterator[ReferenceRegistry]:
    """An empty docker-registry in a directory of its own, removed with it afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    registry = ReferenceRegistry(workdir, **auth).start()
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _registry(skopeo_home: Path, **auth: str) -> Iterator[ReferenceRegistry]:
    with reference_registry("qsproxy-upstream-", **auth) as registry:
        push_debian_app(f"{registry.host}/library/debian-app:v1", skopeo_home, registry.creds)
        yield registry


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    """A fresh registry that misbehaves on purpose (tests may replace its ``answer``)."""
    with FakeUpstream() as server:
        yield server


@pytest.fixture(scope="session")
def anon_upstream(skopeo_home) -> Iterator[ReferenceRegistry]:
    """An anonymous docker-registry holding ``library/debian-app:v1``."""
    yield from _registry(skopeo_home)


@pytest.fixture(scope="session")
def basic_upstream(skopeo_home) -> Iterator[ReferenceRegistry]:
    """A docker-registry with htpasswd Basic auth holding ``library/debian-app:v1``."""
    yield from _registry(skopeo_home, username=UPSTREAM_USER, password=UPSTREAM_PASSWORD)


@dataclass
class RobotOnStack:
    """A running quaysquash and the robot the tests use on it."""

    stack: object
    robot: str
    token: str

    @property
    def host(self) -> str:
        return self.stack.host

    @property
    def url(self) -> str:
        return self.stack.url


@dataclass
class QuayUpstream(RobotOnStack):
    """A second quaysquash as the upstream: bearer token challenges, robots, public repos."""


@pytest.fixture(scope="session")
def quay_upstream(skopeo_home) -> Iterator[QuayUpstream]:
    """``up/app:v1`` (private, a robot may read it) and ``up/pub:v1`` (public) on a stack."""
    from tests.support.stack import Stack

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


# --- the proxy: a quaysquash with proxy organizations ----------------------------------------

PROXY_ADMIN = "proxyadmin"
PROXY_PASSWORD = "proxy-admin-password"
STALENESS_SECONDS = 4


@dataclass
class ProxySite(RobotOnStack):
    """The proxy; its robot is one of the proxy organization "hub" (no grants: it pulls
    through), ``home`` the HOME of its skopeo runs."""

    home: Path

    @property
    def creds(self) -> str:
        return f"{self.robot}:{self.token}"

    def create_proxy_org(
        self, name: str, upstream_url: str, *args: str, password: str = ""
    ) -> None:
        extra = ["--password-stdin"] if password else []
        self.stack.manage(
            "create_proxy_org", name, "--upstream", upstream_url, "--admin", PROXY_ADMIN,
            *args, *extra, input=password + "\n" if password else None,
        )  # fmt: skip

    def robot_of(self, org: str, short: str = "puller") -> tuple[str, str]:
        return self.stack.create_robot(org, short)

    def skopeo(self, *args: str) -> str:
        return skopeo(*args, home=self.home)

    def query(self, code: str) -> str:
        return self.stack.python(code).strip()

    def cached_complete(self, repo: str) -> bool:
        ns, _, name = repo.partition("/")
        return (
            self.query(
                "from quaysquash.proxy.models import CachedImage\n"
                f"print(all(c.complete for c in CachedImage.objects.filter("
                f"repository__namespace__name={ns!r}, repository__name={name!r})) and "
                f"CachedImage.objects.filter(repository__namespace__name={ns!r}, "
                f"repository__name={name!r}).exists())"
            )
            == "True"
        )


@pytest.fixture(scope="session")
@database_backed
def proxy_site(anon_upstream, skopeo_home) -> Iterator[ProxySite]:
    """A running quaysquash whose organization ``hub`` proxies the anonymous docker-registry."""
    import os

    from tests.support.stack import Stack

    workdir = Path(tempfile.mkdtemp(prefix="qsproxy-stack-"))
    stack = Stack(
        workdir,
        outer_database_url=os.environ.get("DATABASE_URL"),
        extra_env={"QS_PROXY_STALENESS_SECONDS": str(STALENESS_SECONDS)},
    ).start()
    try:
        stack.create_user(PROXY_ADMIN, PROXY_PASSWORD)
        site = ProxySite(stack, "", "", skopeo_home)
        site.create_proxy_org("hub", anon_upstream.url)
        site.robot, site.token = site.robot_of("hub")
        yield site
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
