"""The tag page in Chromium: from the tag name to manifest, config, layers and the savings chart,
whose numbers are the API's for debian-app."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import SCREENSHOTS, sign_in


def test_it_shows_layers_and_a_savings_chart_with_the_api_numbers(browser_page, stack, ui_data):
    page = browser_page
    sign_in(page, stack.url, ui_data.member)
    page.goto(f"{stack.url}/repository/{ui_data.repo}?tab=tags&filter=v1")
    page.locator('tr[data-tag="v1"]').get_by_role("link", name="v1").click()
    expect(page.get_by_role("heading", name="v1")).to_be_visible()
    layers = page.get_by_role("table", name="Layers")
    expect(layers.locator("tbody tr")).to_have_count(5)
    expect(layers.locator("tbody tr").first).to_contain_text(
        "debootstrap --variant=minbase bookworm"
    )
    expect(page.get_by_label("Labels")).to_contain_text("io.buildah.version=1.28.2")
    chart = page.get_by_role("img", name="What squashing saves")
    expect(chart).to_be_visible()

    api = page.evaluate(
        """async (repo) => (await fetch(`/api/v1/repository/${repo}/tag/v1/savings`)).json()""",
        ui_data.repo,
    )
    assert api["saved_bytes"] > 0 and len(api["layers"]) == 5
    for field in ("saved_bytes", "layered_tar", "squashed_tar"):
        shown = chart.locator(f'[data-field="{field}"]').get_attribute("data-value")
        assert int(shown) == api[field], field
    rows = chart.locator("g.layer-row")
    expect(rows).to_have_count(5)
    for layer in api["layers"]:
        row = chart.locator(f'g.layer-row[data-layer="{layer["position"]}"]')
        assert int(row.get_attribute("data-deleted")) == layer["deleted_bytes"]
        assert int(row.get_attribute("data-overwritten")) == layer["overwritten_bytes"]
        assert int(row.get_attribute("data-kept")) == layer["kept_bytes"]
    # The text a reader sees says the same, in human units.
    expect(page.locator("#savings")).to_contain_text("Saved")
    desc = chart.locator("desc").text_content()
    assert "squashing saves" in desc
    page.locator("#savings").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "tag-details.png"), full_page=True)
