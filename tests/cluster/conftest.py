"""The multi-host topology (tests/support/cluster.py) for the tests of this package.

One cluster per test module and storage kind (``cluster`` is module scoped and parametrized
over S3 and one shared directory); a module sets ``CLUSTER_ENV`` for settings all its
processes need (a build throttle, a small cache budget) and ``PUSH_DEBIAN_APP = False`` when
it does not need acme/web:v1 (skopeo's push of it costs seconds). PostgreSQL is one private server for
the session, with a fresh database per cluster; the S3 server is the session's ``s3_server``
with a fresh bucket per cluster.

``QS_TEST_CLUSTER_ONE_DISK=1`` runs the same tests with every process on one var dir (the
single-host layout): a check that a failure is the topology's, not the test's.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import skopeo
from tests.support.cluster import STORAGES, Cluster, Node
from tests.support.postgres import PostgresServer
from tests.support.running import running
from tests.support.tools import require, require_debian_app

PASSWORD = "correct horse battery staple"
# Followers give a silent builder up after 5 s; ten heartbeats, so a builder merely slowed
# down by a loaded machine is not taken for dead.
FAST_DEAD_WORKER = {"QS_SQUASH_STALE_SECONDS": "5", "QS_SQUASH_HEARTBEAT_SECONDS": "0.5"}
# debian-app's squash (225 MB) then takes about 5 s to build: long enough for concurrent
# requests to arrive while it runs.
SLOW_BUILDS = {"QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND": str(40 * 1024 * 1024)}
# About 11 s: a kill surely lands mid-build even on a loaded machine.
SLOWER_BUILDS = {"QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND": str(20 * 1024 * 1024)}


@dataclass
class ClusterSite:
    """A running cluster with alice (admin of acme), acme/web:v1 pushed by skopeo, a robot."""

    cluster: Cluster
    workdir: Path
    robot: str = ""
    token: str = ""

    @property
    def auth(self) -> tuple[str, str]:
        return (self.robot, self.token)

    @property
    def web_a(self) -> Node:
        return self.cluster.webs[0]

    @property
    def web_b(self) -> Node:
        return self.cluster.webs[1]

    def squash_url(self, web: Node, repo: str, tag: str = "v1") -> str:
        return f"{web.url}/c1/squash/{repo}/{tag}"

    def state(self, web: Node, repo: str, tag: str = "v1") -> dict:
        url = f"{web.url}/api/v1/repository/{repo}/tag/{tag}/squash"
        response = requests.get(url, auth=self.auth, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_state(self, web: Node, repo: str, want: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(web, repo)
            if state["state"] == want:
                return state
            assert time.monotonic() < deadline, f"{repo} never became {want} on {web.name}: {state}"
            time.sleep(0.2)

    def curl(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [require("curl"), "-sS", *args], capture_output=True, text=True, timeout=timeout
        )

    def _query(self, code: str) -> list[dict]:
        out = self.cluster.python("import json\n" + code)
        return json.loads(out.strip().splitlines()[-1])

    def squash_rows(self, repo: str) -> list[dict]:
        return self.cluster.squash_rows(
            repo, "id", "state", "attempt", "sha256", "size", "worker", "error", "format",
            "compression",
        )  # fmt: skip

    def pull_logs(self, repo: str) -> list[dict]:
        return self._query(
            "from quaysquash.squash.models import PullLog\n"
            f"rows = PullLog.objects.filter(repository_name={repo!r}).order_by('id')\n"
            "print(json.dumps(list(rows.values('source', 'status', 'bytes_sent', 'complete')), "
            "default=str))"
        )

    def import_image(self, source: Path, repo: str) -> None:
        """Another repository holding ``source`` (its own squash key), readable by the robot."""
        self.cluster.import_image(f"{source}:latest", f"{repo}:v1")
        self.cluster.grant(self.robot, repo, "read")

    def builder_of(self, row: dict) -> Node:
        """The worker whose pool process built (or is building) ``row``."""
        return self.cluster.worker_owning(int(row["worker"].rsplit(":", 1)[1]))

    def building_worker(self, repo: str) -> Node:
        """The worker building ``repo``'s squash now, found fast enough to kill it mid-build."""
        ns, name = repo.split("/", 1)
        [(worker,)] = self.cluster.sql(
            "SELECT s.worker FROM squash_squashedimage s"
            " JOIN accounts_repository r ON r.id = s.repository_id"
            " JOIN accounts_namespace n ON n.id = r.namespace_id"
            " WHERE n.name = %s AND r.name = %s AND s.state = 'building'",
            (ns, name),
        )
        return self.builder_of({"worker": worker})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


@pytest.fixture(scope="session")
def cluster_postgres() -> Iterator[PostgresServer]:
    require("initdb")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=STORAGES)
def cluster_site(request, cluster_postgres) -> Iterator[ClusterSite]:
    debian_app = require_debian_app()
    storage = request.param
    s3 = request.getfixturevalue("s3_server") if storage == "s3" else None

    def make(workdir: Path) -> Cluster:
        return Cluster(
            workdir / "cluster",
            storage=storage,
            postgres=cluster_postgres,
            s3=s3,
            extra_env=getattr(request.module, "CLUSTER_ENV", {}),
            one_disk=os.environ.get("QS_TEST_CLUSTER_ONE_DISK") == "1",
        )

    with running(make, f"qscluster-{storage}-") as cluster:
        cluster.create_user("alice", PASSWORD)
        cluster.create_org("acme", "alice")
        push = getattr(request.module, "PUSH_DEBIAN_APP", True)
        if push:
            # Straight to web A: the split push across hosts is a test of its own.
            skopeo.push(
                f"oci:{debian_app}:latest",
                f"docker://{cluster.webs[0].host}/acme/web:v1",
                f"alice:{PASSWORD}",
                timeout=600,
            )
        site = ClusterSite(cluster, cluster.workdir.parent)
        site.robot, site.token = cluster.create_robot(
            "acme", "puller", {"web": "read"} if push else {}
        )
        yield site


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    site = getattr(item, "funcargs", {}).get("cluster_site")
    if report.failed and site is not None:
        report.sections.append(("cluster logs (tail)", site.cluster.log_tails(2000)))
    return report
