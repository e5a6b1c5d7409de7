"""A running quaysquash for squash delivery tests, with an organization, robots and images.

The squash tests get stacks of their own (not the shared ``stack``): they shorten the dead-worker
timeout, one of them throttles builds so a worker can be killed mid-build, and they corrupt
blobs on disk, none of which other test packages should see.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from tests.support.basic_auth import basic_meta
from tests.support.markers import database_backed
from tests.support.running import running
from tests.support.stack import Stack
from tests.support.tools import require, require_debian_app
from tests.support.waiting import wait_for

from .images import make_layout

if TYPE_CHECKING:
    from quaysquash.registry.models import Tag
    from quaysquash.squash import cache

PASSWORD = "correct horse battery staple"
# Followers give a silent builder up after 5 s instead of 10 (the kill tests wait for it); still
# ten heartbeats, so a builder merely slowed down by a loaded CI machine is not taken for dead.
FAST_DEAD_WORKER = {"QS_SQUASH_STALE_SECONDS": "5", "QS_SQUASH_HEARTBEAT_SECONDS": "0.5"}


@dataclass
class SquashSite:
    """A stack plus the accounts the tests pull with."""

    stack: Stack
    workdir: Path
    robot: str = ""
    token: str = ""
    other_robot: str = ""
    other_token: str = ""
    idle_robot: str = ""
    idle_token: str = ""
    layouts: dict[str, Path] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.stack.url

    def squash_url(self, repo: str, tag: str, **query: str) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/c1/squash/{repo}/{tag}" + (f"?{qs}" if qs else "")

    def state_url(self, repo: str, tag: str, **query: str) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/api/v1/repository/{repo}/tag/{tag}/squash" + (f"?{qs}" if qs else "")

    @property
    def auth(self) -> tuple[str, str]:
        return (self.robot, self.token)

    def curl(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [require("curl"), "-sS", *args], capture_output=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"curl {args} failed ({result.returncode}): {result.stderr!r}")
        return result

    def download(
        self, out: Path | str, url: str, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """``curl -f`` of ``url`` into ``out`` as the robot (``args``: more curl options)."""
        return self.curl(
            "-f", "-u", f"{self.robot}:{self.token}", *args, "-o", str(out), url,
            check=check, timeout=timeout,
        )  # fmt: skip

    def import_image(self, source: Path | str, target: str) -> None:
        self.stack.import_image(f"{source}:latest" if Path(source).is_dir() else source, target)

    def squash_rows(self, repo: str) -> list[dict]:
        return self.stack.squash_rows(
            repo,
            "id", "state", "attempt", "sha256", "size", "error", "format", "compression",
        )  # fmt: skip

    def settled_rows(self, repo: str, timeout: float = 120) -> list[dict]:
        """The squash rows of ``repo`` once none is building.

        A pull that followed a build ends at its last byte; the worker hashes and assembles the
        file after that, so the row says ``building`` for a moment longer."""
        wait_for(
            lambda: all(r["state"] != "building" for r in self.squash_rows(repo)),
            timeout=timeout,
            what=f"the builds of {repo} to settle",
        )
        return self.squash_rows(repo)

    def pull_logs(self, repo: str) -> list[dict]:
        out = self.stack.python(
            "import json\n"
            "from quaysquash.squash.models import PullLog\n"
            f"rows = PullLog.objects.filter(repository_name={repo!r}).order_by('id')\n"
            "print(json.dumps(list(rows.values('principal', 'principal_kind', 'tag', 'source', "
            "'status', 'bytes_sent', 'complete', 'format', 'manifest_digest')), default=str))"
        )
        return json.loads(out.strip().splitlines()[-1])

    def wait_state(self, repo: str, tag: str, want: str, timeout: float = 120, **query) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = requests.get(self.state_url(repo, tag, **query), auth=self.auth).json()
            if state["state"] == want:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{repo}:{tag} never became {want}: {state}")
            time.sleep(0.2)


def _site(extra_env: dict[str, str], prefix: str) -> Iterator[SquashSite]:
    # On the PostgreSQL run, a fresh database on that server, like the shared ``stack``.
    outer = os.environ.get("DATABASE_URL")

    def make(workdir: Path) -> Stack:
        return Stack(workdir / "stack", outer_database_url=outer, extra_env=extra_env)

    with running(make, prefix) as stack:
        site = SquashSite(stack, stack.workdir.parent)
        stack.create_user("alice", PASSWORD)
        stack.create_user("bob", PASSWORD)
        stack.create_org("acme", "alice")
        stack.create_org("other", "bob")
        yield site


@pytest.fixture(scope="session")
@database_backed
def site() -> Iterator[SquashSite]:
    """The squash stack with acme/web:v1 pushed by skopeo and acme+deployer (read on web)."""
    debian_app = require_debian_app()
    skopeo = require("skopeo")
    for s in _site(FAST_DEAD_WORKER, "qssquash-"):
        push = subprocess.run(
            [
                skopeo,
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                f"alice:{PASSWORD}",
                f"oci:{debian_app}:latest",
                f"docker://{s.stack.host}/acme/web:v1",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert push.returncode == 0, f"skopeo push failed: {push.stderr}"
        s.layouts["tiny"] = make_layout(
            s.workdir / "tiny", [{"hello.txt": b"hello\n"}, {"etc/motd": b"squashed\n"}]
        )
        s.import_image(s.layouts["tiny"], "acme/tiny:v1")
        s.import_image(s.layouts["tiny"], "acme/public:v1")
        s.import_image(s.layouts["tiny"], "other/private:v1")
        s.stack.python(
            "from quaysquash.accounts.models import Repository\n"
            "Repository.objects.filter(namespace__name='acme', name='public')"
            ".update(is_public=True)"
        )
        s.robot, s.token = s.stack.create_robot("acme", "deployer", {"web": "read", "tiny": "read"})
        s.idle_robot, s.idle_token = s.stack.create_robot("acme", "idle")
        s.other_robot, s.other_token = s.stack.create_robot("other", "bot", {"private": "read"})
        yield s


@pytest.fixture(scope="session")
@database_backed
def slow_site() -> Iterator[SquashSite]:
    """A stack whose builds are throttled to 40 MB/s (debian-app: 5.6 s), so that a worker can
    be killed mid-build and concurrent requests surely arrive while it runs."""
    debian_app = require_debian_app()
    env = {**FAST_DEAD_WORKER, "QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND": str(40 * 1024 * 1024)}
    for s in _site(env, "qsslow-"):
        s.import_image(debian_app, "acme/web:v1")
        s.robot, s.token = s.stack.create_robot("acme", "deployer", {"web": "read"})
        yield s


# The unit tests below the servers: the pytest-django database, a storage directory of the test's
# own and the real engine, with a small image imported as acme/tiny:v1.

TINY_LAYERS = [{"a.txt": b"a\n"}, {"b.txt": b"b\n"}]


@pytest.fixture
def squash_dirs(settings, tmp_path: Path) -> Path:
    """Storage and scratch under ``tmp_path``, and no layer index cached from another test."""
    from quaysquash.squash import build

    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    build.load_or_index.cache_clear()
    return tmp_path


@pytest.fixture
def import_tiny(db, squash_dirs: Path):
    """``import_tiny(layers)`` imports those layers as acme/tiny:v1 (organization acme) and
    returns the tag and the OCI layout it came from."""
    from quaysquash.accounts.models import Namespace
    from quaysquash.registry.importer import import_image

    Namespace.objects.create(name="acme", kind=Namespace.Kind.ORGANIZATION)

    def run(layers: list[dict[str, bytes]] = TINY_LAYERS) -> tuple[Tag, Path]:
        layout = make_layout(squash_dirs / "layout", layers)
        return import_image(f"{layout}:latest", "acme/tiny:v1"), layout

    return run


@pytest.fixture
def tiny(import_tiny) -> tuple[Tag, Path]:
    """acme/tiny:v1, two one-file layers, and its layout."""
    return import_tiny()


@pytest.fixture
def robot_auth(tiny) -> dict[str, str]:
    """The Django test client's headers of acme+deployer, a robot with read on acme/tiny."""
    from quaysquash.accounts.models import RepositoryPermission, RobotAccount

    tag, _ = tiny
    robot = RobotAccount(namespace=tag.repository.namespace, short_name="deployer")
    robot.save()
    RepositoryPermission.objects.create(repository=tag.repository, robot=robot, role="read")
    return basic_meta(robot.full_name, robot.token)


def cache_key(tag: Tag, fmt: str = "docker") -> cache.Key:
    """The cache key of ``tag``'s linux/amd64 squash in ``fmt``, uncompressed."""
    from quaysquash.squash import cache

    return cache.Key(tag.repository, tag.manifest.digest, "linux/amd64", fmt, "none")
