"""Finding the real tools integration tests drive. A missing tool fails the test, never skips it:
the README test command installs every one of them."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()
DEBIAN_APP = SHARED_DIR / "images" / "debian-app"

# Debian package that provides each tool, for the failure message.
PACKAGES = {
    "dockerd": "docker.io",
    "docker": "docker.io",
    "skopeo": "skopeo",
    "podman": "podman",
    "umoci": "umoci",
    "docker-registry": "docker-registry",
    "redis-server": "redis-server",
    "chromium": "chromium",
    "nginx": "nginx",
    "curl": "curl",
    "htpasswd": "apache2-utils",
    "initdb": "postgresql",
    "radosgw": "radosgw",
    "radosgw-admin": "ceph-common",
    "ceph": "ceph-common",
    "ceph-authtool": "ceph-common",
    "monmaptool": "ceph-base",
    "ceph-mon": "ceph-mon",
    "ceph-osd": "ceph-osd",
}


def require(tool: str) -> str:
    """Path of ``tool`` on PATH (or in Debian's usual places), else fail the test loudly."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/lib/postgresql/15/bin")
    if path is None:
        pytest.fail(
            f"{tool} is not installed (Debian package {PACKAGES.get(tool, tool)}); "
            "run the README test command, which installs it",
            pytrace=False,
        )
    return path


def require_debian_app() -> Path:
    if not (DEBIAN_APP / "index.json").is_file():
        pytest.fail(f"test image missing: {DEBIAN_APP}", pytrace=False)
    return DEBIAN_APP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
