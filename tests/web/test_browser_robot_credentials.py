"""The robot credentials dialog in Chromium: its Kubernetes secret logs docker in for real, and
an expired token is refused by docker pull and by the squash URL, and shown as expired."""

from __future__ import annotations

import base64
import json

import requests
import yaml
from playwright.sync_api import expect

from tests.web.browser import SCREENSHOTS, create_robot, sign_in


def open_credentials(page, stack, ui_data, short: str):
    page.goto(f"{stack.url}/organization/{ui_data.org}?tab=robots")
    page.locator(f'tr[data-robot="{short}"]').get_by_role("button", name="View credentials").click()
    dialog = page.get_by_role("dialog", name=f"Credentials for {ui_data.org}+{short}")
    expect(dialog).to_be_visible()
    return dialog


def squash(stack, repo: str, user: str, token: str) -> requests.Response:
    with requests.get(
        f"{stack.url}/c1/squash/{repo}/v1", auth=(user, token), stream=True, timeout=60
    ) as resp:
        if resp.status_code != 200:
            resp.content  # noqa: B018 - read the error body before the connection closes
        return resp


def test_it_logs_docker_in_with_the_downloaded_kubernetes_secret_until_the_token_expires(
    browser_page, stack, ui_data, dockerd, tmp_path
):
    name, _ = stack.create_robot(ui_data.org, "kubebot", {"web": "read"})
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    dialog = open_credentials(page, stack, ui_data, "kubebot")
    for tab in ("Robot Account", "Docker Login", "Podman Login", "Docker Configuration"):
        expect(dialog.get_by_role("tab", name=tab)).to_be_visible()
    dialog.get_by_role("tab", name="Docker Login").click()
    login_line = page.locator("#cred-login").input_value()
    assert login_line.endswith(f" {stack.host}")  # the configured host, as every command
    dialog.get_by_role("tab", name="Kubernetes Secret").click()
    expect(dialog.get_by_role("tabpanel")).to_contain_text("kubernetes.io/dockerconfigjson")
    page.screenshot(path=str(SCREENSHOTS / "robot-credentials-kubernetes.png"))
    with page.expect_download() as info:
        dialog.get_by_role("button", name=f"Download {name}-secret.yml").click()
    download = info.value
    assert download.suggested_filename == f"{name}-secret.yml"
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    secret = yaml.safe_load(path.read_text())
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    username, _, token = (
        base64.b64decode(config["auths"][stack.host]["auth"]).decode().partition(":")
    )
    assert username == name and len(token) == 64

    dockerd.docker("login", "-u", username, "--password-stdin", stack.host, input=token.encode())
    try:
        ref = f"{stack.host}/{ui_data.repo}:v1"
        dockerd.docker("pull", ref)
        dockerd.docker("rmi", ref)
        assert squash(stack, ui_data.repo, username, token).status_code == 200

        stack.python(
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from quaysquash.accounts.models import RobotAccount\n"
            f"RobotAccount.objects.get_by_full_name({name!r}).__class__.objects.filter("
            f"short_name='kubebot', namespace__name={ui_data.org!r})"
            ".update(token_expires=timezone.now() - timedelta(minutes=1))\n"
        )
        refused = dockerd.docker("pull", ref, check=False)
        assert refused.returncode != 0
        assert "robot token expired" in refused.stderr.decode(), refused.stderr
        resp = squash(stack, ui_data.repo, username, token)
        assert resp.status_code == 401
        (error,) = resp.json()["errors"]
        assert error["code"] == "UNAUTHORIZED" and "robot token expired" in error["message"]
    finally:
        dockerd.docker("logout", stack.host, check=False)

    # The page says so: an expired badge in the list, the date and a warning in the dialog.
    page.goto(f"{stack.url}/organization/{ui_data.org}?tab=robots")
    row = page.locator('tr[data-robot="kubebot"]')
    expect(row.locator(".label-expired")).to_have_text("expired")
    page.screenshot(path=str(SCREENSHOTS / "robots-expired.png"), full_page=True)
    dialog = open_credentials(page, stack, ui_data, "kubebot")
    expect(dialog.get_by_role("alert")).to_contain_text("This token expired on")
    page.screenshot(path=str(SCREENSHOTS / "robot-credentials.png"))
    # Regenerating issues a token that works again (no policy: it never expires).
    dialog.get_by_role("button", name="Regenerate Token Now").click()
    dialog.get_by_role("button", name="Yes, regenerate").click()
    expect(page.locator("#cred-token")).not_to_have_value(token)
    fresh = page.locator("#cred-token").input_value()
    assert squash(stack, ui_data.repo, username, fresh).status_code == 200


def test_it_sets_the_organization_token_policy(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/organization/{ui_data.org}?tab=robots")
    page.get_by_label("Robot tokens expire after").fill("90")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#robot-policy-status")).to_contain_text("expire after 90 days")
    create_robot(page, "policybot")
    creds = page.get_by_role("dialog", name=f"Credentials for {ui_data.org}+policybot")
    expect(creds.locator("#cred-expires")).to_contain_text("UTC")  # not "never"
    page.keyboard.press("Escape")
    page.wait_for_load_state()
    row = page.locator('tr[data-robot="policybot"]')
    expect(row.locator(".token-expiry time")).to_contain_text("in 2")  # about 3 months
    # Back to no policy so other tests' robots never expire.
    page.get_by_label("Robot tokens expire after").fill("")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#robot-policy-status")).to_contain_text("never expire")
