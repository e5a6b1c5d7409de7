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

import pytest
import requests

from tests.support.markers import database_backed
from tests.support.running import running
from tests.support.stack import Stack
from tests.support.tools import require, require_debian_app

from .images import make_layout

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

    def import_image(self, source: Path | str, target: str) -> None:
        self.stack.import_image(f"{source}:latest" if Path(source).is_dir() else source, target)

    def squash_rows(self, repo: str) -> list[dict]:
        ns, name = repo.split("/", 1)
        out = self.stack.python(
            "import json\n"
            "from quaysquash.squash.models import SquashedImage as S\n"
            f"rows = S.objects.filter(repository__namespace__name={ns!r}, repository__name={name!r})\n"
            "print(json.dumps(list(rows.values('id', 'state', 'attempt', 'sha256', 'size', "
            "'error', 'format', 'compression'))))"
        )
        return json.loads(out.strip().splitlines()[-1])

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
