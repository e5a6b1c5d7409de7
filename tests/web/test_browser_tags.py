"""The Tags tab's own actions in Chromium: add, expire and delete tags, prime the squash cache."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import expect

from tests.web.browser import SCREENSHOTS, sign_in


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
    page.get_by_label("Filter tags").fill("stab")
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


def make_tags(stack, repo: str, names: list[str], *, other_image: str = "") -> str:
    """Tags on v1's image, or on a second (metadata-only) image; returns their digest."""
    out = stack.python(
        "from quaysquash.accounts import lookups\n"
        "from quaysquash.registry.models import Tag\n"
        "from tests.web import factories as f\n"
        f"r = lookups.repository({repo!r})\n"
        "m = Tag.objects.active().get(repository=r, name='v1').manifest\n"
        + (f"m = f.image(r, {other_image!r}, (3_000_000_000, 5))\n" if other_image else "")
        + f"for n in {names!r}:\n    f.tag(r, n, m)\n"
        "print(m.digest)\n"
    )
    return out.strip()


def tag_names(page) -> list[str]:
    return page.locator("#tags-table tbody tr[data-tag]").evaluate_all(
        "rows => rows.map(r => r.dataset.tag)"
    )


def test_it_sorts_and_filters_by_digest_as_you_type(browser_page, stack, ui_data):
    big = make_tags(stack, ui_data.repo, ["sz-big"], other_image="sorting-big")
    make_tags(stack, ui_data.repo, ["sz-small"])
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    tags_tab(page, stack, ui_data)
    page.get_by_label("Filter tags").fill(big.split(":")[1][:12])  # part of a digest
    expect(page).to_have_url(re.compile(r"filter=" + big.split(":")[1][:12]))
    expect(page.locator("#tags-table tbody tr[data-tag]")).to_have_count(1)
    assert tag_names(page) == ["sz-big"]

    page.get_by_label("Filter tags").fill("sz-")
    expect(page.locator("#tags-table tbody tr[data-tag]")).to_have_count(2)
    page.get_by_role("link", name="Size").click()  # ascending: the small one first
    expect(page).to_have_url(re.compile(r"sort=size"))
    assert "filter=sz-" in page.url  # sorting keeps the filter
    assert tag_names(page) == ["sz-small", "sz-big"]
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Size")
    page.get_by_role("link", name="Size").click()
    expect(page).to_have_url(re.compile(r"sort=-size"))
    assert tag_names(page) == ["sz-big", "sz-small"]
    page.get_by_role("link", name="Tag", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=tag"))
    assert tag_names(page) == ["sz-big", "sz-small"]
    small = page.locator('tr[data-tag="sz-small"]').get_attribute("data-digest")
    page.get_by_role("link", name="Manifest").click()
    expect(page).to_have_url(re.compile(r"sort=manifest"))
    assert tag_names(page) == (["sz-big", "sz-small"] if big < small else ["sz-small", "sz-big"])


def test_it_marks_shared_manifests_and_selects_and_expires_all_tags(browser_page, stack, ui_data):
    names = [f"bulk-{i:02d}" for i in range(12)]
    digest = make_tags(stack, ui_data.repo, names)
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags&filter=bulk-&limit=10&sort=tag")
    row = page.locator('tr[data-tag="bulk-00"]')
    expect(row.get_by_role("img", name=re.compile(r"Same manifest as .*bulk-01"))).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "tags.png"), full_page=True)

    # All tags of this manifest, across pages (v1, stable and the twelve).
    page.get_by_label("Select tags").click()
    page.get_by_role("menuitem", name=re.compile(r"All tags of " + digest[:19])).click()
    expect(page.get_by_role("button", name=re.compile(r"Delete \d+ selected"))).to_be_visible()
    page.get_by_label("Select tags").click()
    page.get_by_role("menuitem", name="No tags").click()
    expect(page.get_by_role("button", name="Delete selected")).to_be_disabled()

    page.get_by_label("Select all tags on this page").check()
    banner = page.locator("#select-banner")
    expect(banner).to_contain_text("All 10 tags on this page are selected")
    banner.get_by_role("button", name="Select all 12 tags").click()
    expect(banner).to_contain_text("All 12 tags are selected")
    page.get_by_role("button", name="Change expiration of 12").click()
    dialog = page.get_by_role("dialog", name="Change expiration of 12 tags")
    dialog.get_by_label("Expires at (UTC)").fill("2098-05-06T07:08")
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(
        page.locator('tr[data-tag="bulk-00"] time[datetime^="2098-05-06T07:08"]')
    ).to_be_visible()
    expirations = page.evaluate(
        """async (repo) => {
            const r = await fetch(`/api/v1/repository/${repo}/tag/?filter_tag_name=like:bulk-&limit=100`);
            return (await r.json()).tags.map(t => t.expiration_ts);
        }""",
        ui_data.repo,
    )
    assert expirations == [int(datetime(2098, 5, 6, 7, 8, tzinfo=UTC).timestamp())] * 12

    # The Expires cell opens the same editor for one tag.
    page.locator('tr[data-tag="bulk-03"]').get_by_role(
        "button", name="Change expiration of bulk-03"
    ).click()
    expect(page.get_by_role("dialog", name="Change expiration of bulk-03")).to_be_visible()
    expect(page.get_by_label("Expires at (UTC)")).to_have_value("2098-05-06T07:08")
    page.keyboard.press("Escape")

    page.get_by_label("Select tags").click()
    page.get_by_role("menuitem", name="All tags (12)").click()
    page.get_by_role("button", name="Delete 12 selected").click()
    page.get_by_role("dialog", name="Delete 12 tags").get_by_role("button", name="Delete").click()
    page.wait_for_load_state()
    expect(page.get_by_text("No tags match")).to_be_visible()


def test_it_warns_that_adding_an_existing_tag_moves_it(browser_page, stack, ui_data):
    make_tags(stack, ui_data.repo, ["movable"])
    other = make_tags(stack, ui_data.repo, ["candidate"], other_image="candidate-image")
    page = browser_page
    sign_in(page, stack.url, ui_data.admin)
    tags_tab(page, stack, ui_data)
    v1 = page.locator('tr[data-tag="movable"]').get_attribute("data-digest")
    dialog = tag_action(page, "candidate", "Add new tag")
    dialog.get_by_label("New tag name").fill("movable")
    warning = dialog.locator("#tag-action-move")
    expect(warning).to_contain_text(f"A tag named movable already exists and points to {v1}")
    expect(warning).to_contain_text(f"Saving will move movable to {other}")
    page.screenshot(path=str(SCREENSHOTS / "tag-move-warning.png"))
    dialog.get_by_role("button", name="Move tag").click()
    expect(page.locator('tr[data-tag="movable"]')).to_have_attribute("data-digest", other)
    # A new name gets no warning.
    dialog = tag_action(page, "candidate", "Add new tag")
    dialog.get_by_label("New tag name").fill("brand-new-name")
    page.wait_for_timeout(500)
    expect(dialog.locator("#tag-action-move")).to_be_hidden()
    expect(dialog.get_by_role("button", name="Save")).to_be_visible()
