"""The repository Settings tab in Chromium: description, visibility, auto-prime, delete."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.web.browser import sign_in


def test_it_saves_settings_and_deletes_the_repository(browser_page, stack, ui_data):
    stack.import_image(_image(), f"{ui_data.org}/scratch:v1")
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    url = f"{stack.url}/repository/{ui_data.org}/scratch"
    assert requests.get(f"{stack.url}/api/v1/repository/{ui_data.org}/scratch").status_code == 404

    page.goto(url + "?tab=settings")
    page.get_by_label("Description").fill("Scratch space")
    page.get_by_label("Public — anyone can pull").check()
    page.get_by_label("Build the squashed image of every newly pushed tag (auto-prime)").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Saved")
    data = requests.get(f"{stack.url}/api/v1/repository/{ui_data.org}/scratch").json()
    assert (data["description"], data["is_public"], data["auto_prime"]) == (
        "Scratch space",
        True,
        True,
    )

    page.on("dialog", lambda dialog: dialog.accept(f"{ui_data.org}/scratch"))
    page.get_by_role("button", name="Delete repository").click()
    page.wait_for_url(f"{stack.url}/")
    assert requests.get(f"{stack.url}/api/v1/repository/{ui_data.org}/scratch").status_code == 404


def test_it_hides_settings_from_a_reader(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=settings")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete repository")).to_have_count(0)


def _image():
    from tests.support.tools import require_debian_app

    return require_debian_app()


def test_it_adds_changes_and_removes_repository_permissions(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=settings")
    table = page.get_by_role("table", name="Repository permissions")
    expect(table).to_contain_text(ui_data.reader_robot)

    page.get_by_label("Account").fill(ui_data.outsider)
    page.get_by_label("Permission", exact=True).select_option("write")
    page.get_by_role("button", name="Add permission").click()
    row = page.locator(f'#repo-permissions tr[data-name="{ui_data.outsider}"]')
    expect(row).to_be_visible()
    role_url = f"/api/v1/repository/{ui_data.repo}/permissions/user/{ui_data.outsider}"
    fetch_role = (
        "async (u) => { const r = await fetch(u); return r.ok ? (await r.json()).role : r.status; }"
    )
    assert page.evaluate(fetch_role, role_url) == "write"

    row.get_by_label(f"Permission of {ui_data.outsider}", exact=True).select_option("read")
    expect(page.locator("#toast")).to_have_text("Permission saved")
    assert page.evaluate(fetch_role, role_url) == "read"

    row.get_by_role("button", name=f"Remove permission of {ui_data.outsider}").click()
    expect(row).to_have_count(0)
    assert page.evaluate(fetch_role, role_url) == 404

    page.get_by_label("Account").fill(f"{ui_data.org}+ghost")
    page.get_by_role("button", name="Add permission").click()
    expect(page.locator("#perm-error")).to_contain_text("No such robot")
