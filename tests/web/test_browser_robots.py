"""The organization's Robot Accounts page in Chromium against the live stack."""

from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import expect

from tests.web.browser import SCREENSHOTS, create_robot, sign_in


def v2_status(stack, username: str, token: str) -> int:
    return requests.get(f"{stack.url}/v2/", auth=(username, token), timeout=30).status_code


def squash_status(stack, repo: str, username: str, token: str) -> int:
    with requests.get(
        f"{stack.url}/c1/squash/{repo}/v1", auth=(username, token), stream=True, timeout=60
    ) as resp:
        return resp.status_code


def robots_page(page, stack, ui_data):
    page.goto(f"{stack.url}/organization/{ui_data.org}?tab=robots")
    return page.get_by_role("table", name="Robot accounts")


def test_it_creates_regenerates_edits_and_deletes_a_robot(browser_page, stack, ui_data):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before destructive steps
    sign_in(page, stack.url, ui_data.admin)
    robots_page(page, stack, ui_data)
    name = f"{ui_data.org}+pagebot"
    create_robot(page, "pagebot", "made on the robots page")
    # The new robot's credentials open at once; closing them shows it in the list.
    expect(page.get_by_role("dialog", name=f"Credentials for {name}")).to_be_visible()
    page.keyboard.press("Escape")
    page.wait_for_load_state()
    row = page.locator('tr[data-robot="pagebot"]')
    expect(row).to_contain_text("made on the robots page")

    row.get_by_role("button", name="View credentials").click()
    dialog = page.get_by_role("dialog", name=f"Credentials for {name}")
    expect(dialog).to_be_visible()
    old = page.locator("#cred-token").input_value()
    assert len(old) == 64
    assert v2_status(stack, name, old) == 200

    # Regenerating happens inside the dialog, after its warning.
    dialog.get_by_role("button", name="Regenerate Token Now").click()
    expect(dialog).to_contain_text("The current token stops working at once")
    assert page.locator("#cred-token").input_value() == old  # nothing happened yet
    dialog.get_by_role("button", name="Yes, regenerate").click()
    expect(page.locator("#cred-token")).not_to_have_value(old)
    new = page.locator("#cred-token").input_value()
    assert len(new) == 64
    assert v2_status(stack, name, old) == 401  # at once: no cache keeps the old token alive
    assert v2_status(stack, name, new) == 200
    page.keyboard.press("Escape")
    page.wait_for_load_state()

    # No permission yet: the robot reads nothing private.
    assert squash_status(stack, ui_data.repo, name, new) in (401, 403, 404)
    row = page.locator('tr[data-robot="pagebot"]')
    row.get_by_role("button", name="Edit permissions").click()
    page.get_by_label("Permission on web").select_option("read")
    expect(page.locator("#permissions-status")).to_contain_text("Saved: read on web")
    assert squash_status(stack, ui_data.repo, name, new) == 200
    page.get_by_label("Permission on web").select_option("")
    expect(page.locator("#permissions-status")).to_contain_text("Saved: no access on web")
    assert squash_status(stack, ui_data.repo, name, new) in (401, 403, 404)
    page.keyboard.press("Escape")
    page.wait_for_load_state()

    page.locator('tr[data-robot="pagebot"]').get_by_role("button", name="Delete").click()
    expect(page.locator('tr[data-robot="pagebot"]')).to_have_count(0)
    assert v2_status(stack, name, new) == 401


def test_it_shows_no_tokens_to_non_admins_anywhere(browser_page, stack, ui_data):
    page = browser_page
    for who in (ui_data.member, ui_data.outsider):
        page.context.clear_cookies()
        sign_in(page, stack.url, who)
        robots_page(page, stack, ui_data)
        expect(page.get_by_text("Only administrators")).to_be_visible()
        pages = [f"/organization/{ui_data.org}?tab=robots", f"/organization/{ui_data.org}"]
        if who == ui_data.member:
            pages += [f"/repository/{ui_data.repo}?tab={t}" for t in ("info", "tags", "history")]
        for path in pages:
            page.goto(stack.url + path)
            assert ui_data.reader_token not in page.content()
        api = page.evaluate(
            """async (org) => {
                const out = [];
                for (const url of [`/api/v1/organization/${org}/robots?permissions=true&token=true`,
                                   `/api/v1/organization/${org}/robots/deployer`]) {
                    const r = await fetch(url);
                    out.push([r.status, await r.text()]);
                }
                return out;
            }""",
            ui_data.org,
        )
        for status, body in api:
            assert ui_data.reader_token not in body
            if status == 200:
                data = json.loads(body)
                robots = data.get("robots", [data])
                assert all("token" not in r for r in robots)
        expected = 200 if who == ui_data.member else 403
        assert [status for status, _ in api] == [expected, expected]


def test_it_creates_a_robot_with_roles_in_steps_then_filters_and_bulk_deletes(
    browser_page, stack, ui_data
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, stack.url, ui_data.admin)
    robots_page(page, stack, ui_data)
    wizard = create_robot(page, "wizbot", "from the wizard", {"web": "read"})
    expect(wizard).to_be_hidden()
    creds = page.get_by_role("dialog", name=f"Credentials for {ui_data.org}+wizbot")
    token = page.locator("#cred-token").input_value()
    # Its role came with it: the squashed download works at once.
    assert squash_status(stack, ui_data.repo, f"{ui_data.org}+wizbot", token) == 200
    creds.get_by_role("button", name="Close").last.click()
    page.wait_for_load_state()
    expect(page.locator('tr[data-robot="wizbot"]')).to_contain_text("1 repository")
    page.screenshot(path=str(SCREENSHOTS / "robots.png"), full_page=True)

    # A bad name is refused on its step, before anything is created.
    page.get_by_role("button", name="Create robot account").click()
    wizard = page.get_by_role("dialog", name="Create robot account")
    wizard.get_by_label("Robot name").fill("Bad-Name")
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("alert")).to_contain_text("lower-case letters")
    page.keyboard.press("Escape")

    # The repository count opens the permission editor.
    page.locator('tr[data-robot="wizbot"]').get_by_role(
        "button", name=re.compile("1 repository")
    ).click()
    perms = page.get_by_role("dialog", name=f"Permissions of {ui_data.org}+wizbot")
    expect(perms.get_by_label("Permission on web")).to_have_value("read")
    page.keyboard.press("Escape")
    page.wait_for_load_state()

    stack.python(
        "from quaysquash.accounts.models import Namespace, RobotAccount\n"
        f"ns = Namespace.objects.get(name={ui_data.org!r})\n"
        "for s in ('zapone', 'zaptwo', 'zapkeep'):\n"
        "    RobotAccount.objects.create(namespace=ns, short_name=s)\n"
    )
    robots_page(page, stack, ui_data)
    page.get_by_label("Filter robot accounts").fill("zap")
    expect(page).to_have_url(re.compile(r"q=zap"))
    expect(page.locator("#robots-table tbody tr[data-robot]")).to_have_count(3)
    page.get_by_label(f"Select {ui_data.org}+zapone").check()
    page.get_by_label(f"Select {ui_data.org}+zaptwo").check()
    page.get_by_role("button", name="Delete 2 selected").click()
    page.wait_for_load_state()
    expect(page.locator("#robots-table tbody tr[data-robot]")).to_have_count(1)
    expect(page.locator('tr[data-robot="zapkeep"]')).to_be_visible()
