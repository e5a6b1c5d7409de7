"""The Tag History tab in Chromium: revert a bad move of prod in one click, then pull prod."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

from playwright.sync_api import expect

from tests.support.tools import require
from tests.web.browser import SCREENSHOTS, sign_in


def short(digest: str) -> str:
    return digest[:19]


def make_bad_move(stack, repo: str, tag: str) -> tuple[str, str]:
    """Point ``tag`` at v1's (real) image, then move it to another manifest: the bad move."""
    out = stack.python(
        "from tests.web import factories as f\n"
        "from quaysquash.accounts import lookups\n"
        "from quaysquash.registry.models import Tag\n"
        f"r = lookups.repository({repo!r})\n"
        "good = Tag.objects.active().get(repository=r, name='v1').manifest\n"
        f"f.tag(r, {tag!r}, good)\n"
        f"bad = f.image(r, 'bad-build-of-{tag}')\n"
        f"f.tag(r, {tag!r}, bad)\n"
        "print(good.digest, bad.digest)\n"
    )
    good, bad = out.split()
    return good, bad


def skopeo_pull(stack, ref: str, user: str, token: str, dest) -> str:
    """Pull with skopeo (every blob, digests checked) and return the pulled manifest's digest."""
    result = subprocess.run(
        [
            require("skopeo"),
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            f"{user}:{token}",
            f"docker://{stack.host}/{ref}",
            f"dir:{dest}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**stack.env, "HOME": str(dest.parent)},
    )
    assert result.returncode == 0, result.stderr
    return "sha256:" + hashlib.sha256((dest / "manifest.json").read_bytes()).hexdigest()


def test_it_reverts_prod_from_the_history_and_prod_pulls_again(
    browser_page, stack, ui_data, tmp_path
):
    good, bad = make_bad_move(stack, ui_data.repo, "prod")
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=history")
    page.get_by_label("Filter history").fill("prod")  # live: no submit needed
    expect(page).to_have_url(re.compile(r"filter=prod"))  # and kept in the address
    history = page.get_by_role("table", name="Tag history")
    moved = history.locator('tr[data-kind="moved"][data-tag="prod"]')
    expect(moved).to_have_count(1)
    expect(moved).to_contain_text(f"prod was moved to {short(bad)}")
    expect(moved).to_contain_text(f"from {short(good)}")
    expect(history.locator('tr[data-kind="created"][data-tag="prod"]')).to_contain_text(
        f"prod was created pointing to {short(good)}"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tag-history.png"), full_page=True)

    moved.get_by_role("button", name=f"Revert to {short(good)}").click()
    dialog = page.get_by_role("dialog", name="Revert tag prod")
    expect(dialog).to_contain_text(f"Move prod to {good}? It points to {bad} now.")
    expect(dialog.get_by_role("button", name="Revert")).to_be_focused()
    page.screenshot(path=str(SCREENSHOTS / "tag-history-revert.png"))
    dialog.get_by_role("button", name="Revert").click()

    newest = page.locator('tr[data-tag="prod"]').first
    expect(newest).to_contain_text(f"prod was moved to {short(good)} from {short(bad)}")
    # A real registry pull of prod gets the good image back, every blob verified by skopeo.
    dest = tmp_path / "prod"
    pulled = skopeo_pull(
        stack, f"{ui_data.repo}:prod", ui_data.reader_robot, ui_data.reader_token, dest
    )
    assert pulled == good
    config = json.loads((dest / "manifest.json").read_text())["config"]["digest"]
    assert (dest / config.split(":")[1]).is_file()


def test_it_shows_future_expirations_on_request(browser_page, stack, ui_data):
    stack.python(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from quaysquash.accounts import lookups\n"
        "from quaysquash.registry.models import Tag\n"
        "from tests.web import factories as f\n"
        f"r = lookups.repository({ui_data.repo!r})\n"
        "good = Tag.objects.active().get(repository=r, name='v1').manifest\n"
        "t = f.tag(r, 'soon-gone', good)\n"
        "Tag.objects.filter(pk=t.pk).update(expiration=timezone.now() + timedelta(days=2))\n"
    )
    page = browser_page
    sign_in(page, stack.url, ui_data.member)  # a reader: history, no restore buttons
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=history&filter=soon-gone")
    history = page.get_by_role("table", name="Tag history")
    expect(history.locator('tr[data-kind="created"]')).to_have_count(1)
    expect(history.locator('tr[data-kind="expires"]')).to_have_count(0)
    page.get_by_label("Show future").check()
    expect(page).to_have_url(re.compile(r"future=1"))
    history = page.get_by_role("table", name="Tag history")
    expect(history.locator('tr[data-kind="expires"]')).to_contain_text("soon-gone will expire")
    expect(page.locator(".restore-tag")).to_have_count(0)
