"""What the README promises: after seed_demo, the demo robot pulls and runs the demo image."""

from __future__ import annotations

import re

import pytest

from quaysquash.core import demo_image
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_it_lets_the_demo_robot_pull_and_run_the_image(stack: Stack, dockerd, tmp_path) -> None:
    layout = demo_image.build_busybox_layout(tmp_path / "layout")
    out = stack.manage("seed_demo", "--image", f"{layout}:{demo_image.REF_NAME}").stdout
    robot = re.search(r"^robot:\s+(\S+)$", out, re.M).group(1)
    token = re.search(r"^robot token:\s+(\S+)$", out, re.M).group(1)
    assert f"docker pull {stack.host}/acme/web:v1" in out

    dockerd.login(stack.host, robot, token)
    dockerd.docker("pull", f"{stack.host}/acme/web:v1")
    run = dockerd.run(f"{stack.host}/acme/web:v1", "busybox", "echo", "hi")
    assert run.stdout.decode().strip() == "hi"


def test_it_refuses_the_demo_image_to_anonymous_pulls(stack: Stack, dockerd, tmp_path) -> None:
    layout = demo_image.build_busybox_layout(tmp_path / "layout")
    stack.manage("seed_demo", "--image", f"{layout}:{demo_image.REF_NAME}")
    dockerd.docker("logout", stack.host, check=False)
    result = dockerd.docker("pull", f"{stack.host}/acme/web:v1", check=False)
    assert result.returncode != 0
    assert b"unauthorized" in result.stderr.lower() or b"denied" in result.stderr.lower()
