"""The Tags tab's own actions in Chromium: add, expire and delete tags, prime the squash cache."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import sign_in


def tags_tab(page, stack, ui_data):
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags")


def tag_action(page, tag: str, action: str):
    row = page.locator(f'tr[data-tag="{tag}"]')
    row.get_by_label(f"Actions for {tag}").click()
    row.get_by_role("menuitem", name=action).click()
    return page.get_by_role("dialog")


def test_it_adds_expires_and_deletes_tags(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    tags_tab(page, stack, ui_data)

    dialog = tag_action(page, "stable", "Add new tag")
    dialog.get_by_label("New tag name").fill("from-ui")
    dialog.get_by_role("button", name="Save").click()
    new_row = page.locator('tr[data-tag="from-ui"]')
    expect(new_row).to_be_visible()
    digest = page.locator('tr[data-tag="stable"]').get_attribute("data-digest")
    assert new_row.get_attribute("data-digest") == digest

    dialog = tag_action(page, "from-ui", "Change expiration")
    dialog.get_by_label("Expires at (UTC)").fill("2099-01-02T03:04")
    dialog.get_by_role("button", name="Save").click()
    expect(
        page.locator('tr[data-tag="from-ui"] time[datetime^="2099-01-02T03:04"]')
    ).to_be_visible()

    dialog = tag_action(page, "from-ui", "Delete tag")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator('tr[data-tag="from-ui"]')).to_have_count(0)

    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=history&filter=from-ui")
    history = page.get_by_role("table", name="Tag history")
    expect(history).to_contain_text("from-ui was deleted")
    expect(history).to_contain_text("from-ui was created pointing to")


def test_it_filters_tags(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    tags_tab(page, stack, ui_data)
    page.get_by_label("Filter by tag name").fill("stab")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("button", name="Fetch Tag")).to_have_count(1)
    expect(page.locator('tr[data-tag="stable"]')).to_be_visible()
    # A reader gets no tag menu.
    expect(page.get_by_label("Actions for stable")).to_have_count(0)


def test_it_primes_the_squash_cache_from_the_modal(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    tags_tab(page, stack, ui_data)
    page.locator('tr[data-tag="stable"]').get_by_role("button", name="Fetch Tag").click()
    page.get_by_label("Image Format").select_option("squash-oci")
    page.get_by_label("Compressed download (gzip)").check()
    state = page.locator("#cache-state")
    expect(state).to_contain_text("not built yet")
    page.get_by_role("button", name="Prime cache").click()
    expect(state).to_contain_text("cached", timeout=120_000)
