"""Fetch Tag → "Squashed image (docker/podman pull)" in Chromium against the live stack: the
copied docker login + docker pull really pull the squashed image, and the Kubernetes Secret the
modal shows really authenticates a registry client (skopeo with its .dockerconfigjson)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml
from playwright.sync_api import expect

from tests.support.tools import require
from tests.web.browser import SCREENSHOTS, sign_in
from tests.web.test_browser_fetch_tag import open_fetch_modal


def choose_squashed_pull(page, robot_short: str):
    page.get_by_label("Image Format").select_option("squash-pull")
    page.get_by_label("Robot account").select_option(robot_short)
    command = page.locator("#command-data")
    expect(command).to_have_attribute("aria-busy", "false")
    expect(command).to_contain_text(f"+{robot_short}'")
    return command


def copy(page, button: str) -> str:
    page.get_by_role("button", name=button).click()
    status = page.get_by_role("button", name=button).locator("xpath=following-sibling::span[1]")
    expect(status).to_have_text("Copied")
    return page.evaluate("navigator.clipboard.readText()")


def skopeo(home: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [require("skopeo"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_it_copies_a_login_and_pull_that_pull_the_squashed_image_and_a_secret_that_works(
    browser_page, stack, ui_data, dockerd, tmp_path
):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    command = choose_squashed_pull(page, "deployer")
    image = f"{stack.host}/squashed/{ui_data.repo}:v1"
    expected = (
        f"docker login -u '{ui_data.reader_robot}' -p '{ui_data.reader_token}' {stack.host}\n"
        f"docker pull {image}"
    )
    assert command.inner_text() == expected
    # A pull serves the whole image: no platform, gzip or cache controls; a client choice.
    expect(page.locator("#archive-options")).to_be_hidden()
    expect(page.locator("#cache-panel")).to_be_hidden()
    expect(page.get_by_label("Client")).to_have_value("docker")
    expect(page.locator("#robot-warning")).to_be_hidden()

    secret = yaml.safe_load(page.locator("#kube-secret").inner_text())
    assert secret["kind"] == "Secret" and secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = base64.b64decode(config["auths"][stack.host]["auth"]).decode()
    assert auth == f"{ui_data.reader_robot}:{ui_data.reader_token}"
    pod = yaml.safe_load(page.locator("#kube-pod").inner_text())
    assert pod["spec"]["containers"][0]["image"] == image
    assert pod["spec"]["imagePullSecrets"] == [{"name": secret["metadata"]["name"]}]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1200})  # the whole dialog
    page.locator("#fetch-modal .modal").screenshot(
        path=str(SCREENSHOTS / "fetch-squashed-pull.png")
    )

    # The copied commands, run as copied, log a logged-out daemon in and pull the squashed image.
    copied = copy(page, "Copy Command")
    assert copied == expected
    dockerd.docker("logout", stack.host, check=False)
    try:
        ran = subprocess.run(
            ["bash", "-e", "-c", copied],
            env=dockerd.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        assert "Login Succeeded" in ran.stdout
    finally:
        dockerd.docker("logout", stack.host, check=False)
    layers = json.loads(dockerd.docker("image", "inspect", image).stdout)[0]["RootFS"]["Layers"]
    assert len(layers) == 1  # squashed
    # debian-app's last layer replaces main.py by main2.py: the squashed image has the result.
    probe = (
        "import os; print(os.path.exists('/opt/app/main2.py'), os.path.exists('/opt/app/main.py'))"
    )
    assert dockerd.run(image, "python3", "-c", probe).stdout.decode().split() == ["True", "False"]
    dockerd.docker("rmi", image)

    # The Secret, copied and decoded, is an auth file a registry client pulls with.
    copied_secret = yaml.safe_load(copy(page, "Copy Secret"))
    assert copied_secret == secret
    authfile = tmp_path / "auth.json"
    authfile.write_bytes(base64.b64decode(copied_secret["data"][".dockerconfigjson"]))
    (tmp_path / "home").mkdir()
    pulled = tmp_path / "oci"
    skopeo(
        tmp_path / "home", "copy", "--authfile", str(authfile), "--src-tls-verify=false",
        f"docker://{image}", f"oci:{pulled}:v1",
    )  # fmt: skip
    index = json.loads((pulled / "index.json").read_text())
    manifest_path = (
        pulled / "blobs/sha256" / index["manifests"][0]["digest"].removeprefix("sha256:")
    )
    assert len(json.loads(manifest_path.read_text())["layers"]) == 1
    assert yaml.safe_load(copy(page, "Copy Pod")) == pod

    # Served once, the squashed manifest has a digest: the pod can pin it, and it pulls.
    page.get_by_label("Pin the squashed digest").check()
    expect(page.locator("#kube-pod")).to_contain_text(f"/squashed/{ui_data.repo}@sha256:")
    pinned = yaml.safe_load(page.locator("#kube-pod").inner_text())["spec"]["containers"][0]
    assert command.inner_text().endswith(f"docker pull {pinned['image']}")
    skopeo(
        tmp_path / "home", "inspect", "--authfile", str(authfile), "--tls-verify=false",
        f"docker://{pinned['image']}",
    )  # fmt: skip

    page.get_by_label("Client").select_option("podman")
    expect(command).to_contain_text("podman login --tls-verify=false -u")
    expect(command).to_contain_text(f"podman pull --tls-verify=false {pinned['image']}")


def test_it_shows_a_member_the_squashed_pull_and_secret_command_without_any_token(
    browser_page, stack, ui_data
):
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    open_fetch_modal(page, stack, ui_data)
    command = choose_squashed_pull(page, "deployer")
    assert f"-u '{ui_data.reader_robot}' -p 'TOKEN' " in command.inner_text()
    expect(page.locator("#robot-note")).to_contain_text("Only organization administrators")
    expect(page.locator("#kube-secret-label")).to_contain_text("replace TOKEN")
    expect(page.locator("#kube-secret")).to_contain_text("kubectl create secret docker-registry")
    expect(page.locator("#kube-secret")).to_contain_text("--docker-password='TOKEN'")
    expect(page.locator("#kube-pod")).to_contain_text(f"/squashed/{ui_data.repo}:v1")
    assert ui_data.reader_token not in page.content()


def test_it_warns_when_the_robot_cannot_read(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data)
    choose_squashed_pull(page, "auditor")
    expect(page.locator("#robot-warning")).to_contain_text("does not have read permission")


def test_it_copies_a_podman_login_and_pull_that_pull_the_squashed_image(
    browser_page, stack, ui_data, tmp_path
):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    open_fetch_modal(page, stack, ui_data, tag="stable")
    choose_squashed_pull(page, "deployer")
    page.get_by_label("Client").select_option("podman")
    expect(page.locator("#command-data")).to_contain_text("podman pull --tls-verify=false")
    copied = copy(page, "Copy Command")
    assert copied.startswith("podman login --tls-verify=false ")
    # Run as copied: podman's storage (vfs, short paths: podman refuses a runroot over 50
    # characters) and auth file come from the environment, not from flags.
    short = Path(tempfile.mkdtemp(prefix="qsfp-", dir="/tmp"))
    try:
        conf = tmp_path / "storage.conf"
        conf.write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{short}/run"\ngraphroot = "{short}/root"\n'
        )
        env = {
            "HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "CONTAINERS_STORAGE_CONF": str(conf),
            "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        }
        ran = subprocess.run(
            ["bash", "-e", "-c", copied], env=env, capture_output=True, text=True, timeout=600
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        image = f"{stack.host}/squashed/{ui_data.repo}:stable"
        inspected = subprocess.run(
            [require("podman"), "image", "inspect", image], env=env, capture_output=True, text=True
        )
        assert inspected.returncode == 0, inspected.stderr
        assert len(json.loads(inspected.stdout)[0]["RootFS"]["Layers"]) == 1
    finally:
        shutil.rmtree(short, ignore_errors=True)
