"""Playwright helpers for the browser tests: Debian's Chromium (never a downloaded browser) and
a Quay-like data set on the running stack under names no other test package uses."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import expect

from tests.support.tools import REPO_ROOT, require

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The screenshots of docs/ are refreshed on request only: a test run must not change tracked files.
SCREENSHOTS = (
    REPO_ROOT / "docs" / "screenshots"
    if os.environ.get("QS_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="qs-screenshots-"))
)
PASSWORD = "ui-password-123"
ORG = "quayco"


@dataclass
class UiData:
    org: str
    repo: str  # full name
    admin: str
    member: str
    outsider: str
    reader_robot: str  # full name
    reader_token: str
    idle_robot: str  # full name, no permission on the repository


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=require("chromium"), args=CHROMIUM_ARGS, headless=True
    )


def seed(stack, image_dir: Path) -> UiData:
    for name in ("uiadmin", "uimember", "uioutsider"):
        stack.create_user(name, PASSWORD)
    stack.create_org(ORG, "uiadmin")
    stack.import_image(image_dir, f"{ORG}/web:v1")
    stack.import_image(image_dir, f"{ORG}/web:stable")
    stack.grant("uimember", f"{ORG}/web", "read")
    stack.python(
        "from quaysquash.accounts.models import Namespace\n"
        "from django.contrib.auth import get_user_model\n"
        f"Namespace.objects.get(name={ORG!r}).members.add("
        "get_user_model().objects.get(username='uimember'))"
    )
    reader, token = stack.create_robot(ORG, "deployer", {"web": "read"})
    idle, _ = stack.create_robot(ORG, "auditor")
    return UiData(
        org=ORG,
        repo=f"{ORG}/web",
        admin="uiadmin",
        member="uimember",
        outsider="uioutsider",
        reader_robot=reader,
        reader_token=token,
        idle_robot=idle,
    )


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin/" not in url)


def create_robot(page, short: str, description: str = "", roles: dict[str, str] | None = None):
    """The create wizard: name, description, repositories with roles, review."""
    page.get_by_role("button", name="Create robot account").click()
    wizard = page.get_by_role("dialog", name="Create robot account")
    wizard.get_by_label("Robot name").fill(short)
    wizard.get_by_role("button", name="Next").click()
    wizard.get_by_label("Description").fill(description)
    wizard.get_by_role("button", name="Next").click()
    for repo, role in (roles or {}).items():
        wizard.get_by_label(f"Role on {repo}").select_option(role)
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.locator("#new-robot-review")).to_contain_text(short)
    wizard.get_by_role("button", name="Create robot account").click()
    return wizard
