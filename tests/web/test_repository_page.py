"""/repository/<ns>/<repo>?tab=info|tags|history|settings."""

import pytest

from tests.web import factories as f


def test_it_shows_the_tags_tab_like_quay(client, w):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web?tab=tags").content.decode()
    assert 'aria-label="Fetch Tag"' in html
    assert 'id="command-data"' in html and "Copy Command" in html
    assert "v1" in html and w.v1.digest[:19] in html and "1.2 KiB" in html
    assert "Squashed Docker Image" in html


def test_it_paginates_and_filters_tags_on_the_server(client, w):
    manifest = f.image(w.web, "many")
    for i in range(60):
        f.tag(w.web, f"build-{i:02d}", manifest)
    client.force_login(w.alice)
    html = client.get("/repository/acme/web?tab=tags&limit=25").content.decode()
    assert html.count('aria-label="Fetch Tag"') == 25
    assert "1 – 25 of 61" in html and 'rel="next"' in html
    html = client.get("/repository/acme/web?tab=tags&limit=25&page=3").content.decode()
    assert html.count('aria-label="Fetch Tag"') == 11
    html = client.get("/repository/acme/web?tab=tags&filter=build-5").content.decode()
    assert html.count('aria-label="Fetch Tag"') == 10


def test_it_shows_platforms_of_a_multi_arch_tag(client, w):
    amd, arm = f.image(w.web, "amd"), f.image(w.web, "arm")
    f.tag(w.web, "multi", f.index(w.web, {"linux/amd64": amd, "linux/arm64": arm}))
    client.force_login(w.bob)
    html = client.get("/repository/acme/web?tab=tags").content.decode()
    assert 'data-platforms="linux/amd64,linux/arm64"' in html
    assert "linux/arm64: 1.2 KiB" in html


def test_it_shows_tag_history(client, w):
    v2 = f.image(w.web, "v2")
    f.tag(w.web, "v1", v2)
    from quaysquash.registry.manifests import delete_tag

    f.tag(w.web, "gone", v2)
    delete_tag(w.web, "gone")
    client.force_login(w.bob)
    html = client.get("/repository/acme/web?tab=history").content.decode()
    assert "v1 was moved to" in html and "v1 was created pointing to" in html
    assert "gone was deleted" in html
    assert w.v1.digest[:19] in html and v2.digest[:19] in html
    assert "restore-tag" not in html  # bob only reads


def test_it_offers_revert_and_restore_to_writers(client, w):
    v2 = f.image(w.web, "v2")
    f.tag(w.web, "v1", v2)
    client.force_login(w.alice)
    html = client.get("/repository/acme/web?tab=history").content.decode()
    assert f'data-digest="{w.v1.digest}" data-current="{v2.digest}" data-verb="Revert"' in html
    assert "Show future" in html and "Filter History..." in html


def test_it_shows_settings_to_admins_only(client, w):
    client.force_login(w.alice)
    assert "Delete repository" in client.get("/repository/acme/web?tab=settings").content.decode()
    client.force_login(w.bob)
    html = client.get("/repository/acme/web?tab=settings").content.decode()
    assert "Delete repository" not in html and "Pull this container" in html


def test_it_shows_pull_commands_on_the_information_tab(client, w, settings):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web").content.decode()
    assert f"docker pull {settings.QS_SERVER_HOSTNAME}/acme/web:v1" in html
    assert "The web frontend" in html
    assert f"docker pull {settings.QS_SERVER_HOSTNAME}/squashed/acme/web:v1" in html


@pytest.mark.parametrize("who", ["carol", "eve", None])
def test_it_answers_404_for_a_repository_the_visitor_cannot_read(client, w, who):
    if who:
        client.force_login(getattr(w, who))
    assert client.get("/repository/acme/web?tab=tags").status_code == 404


def test_it_serves_repositories_with_slashes_in_their_names(client, w):
    deep = f.repo(w.acme, "team/tools/cli", public=True)
    f.tag(deep, "v1", f.image(deep, "cli"))
    html = client.get("/repository/acme/team/tools/cli?tab=tags").content.decode()
    assert 'data-tag="v1"' in html


def test_it_never_renders_a_robot_token_for_a_non_admin(client, w):
    client.force_login(w.bob)
    for tab in ("info", "tags", "history", "settings"):
        html = client.get(f"/repository/acme/web?tab={tab}").content.decode()
        assert w.deployer.token not in html


def test_it_lists_explicit_permissions_on_the_settings_tab(client, w):
    client.force_login(w.alice)
    html = client.get("/repository/acme/web?tab=settings").content.decode()
    assert 'data-kind="robot" data-name="deployer"' in html
    assert 'data-kind="user" data-name="bob"' in html
    assert w.deployer.token not in html


def test_it_offers_sign_in_on_the_not_found_page(client, w):
    resp = client.get("/repository/acme/web?tab=tags")
    assert resp.status_code == 404
    assert "/signin/?next=" in resp.content.decode()


def test_it_sorts_tags_and_keeps_sort_and_filter_in_the_links(client, w):
    f.tag(w.web, "alpha", w.v1)  # shares v1's manifest
    client.force_login(w.alice)
    html = client.get("/repository/acme/web?tab=tags&sort=tag&filter=a").content.decode()
    assert (
        '<th aria-sort="ascending"><a class="sort-link active" href="?tab=tags&amp;filter=a&amp;limit=25&amp;sort=-tag"'
        in html
    )
    assert 'href="?tab=tags&amp;filter=a&amp;limit=25&amp;sort=size"' in html
    full = client.get("/repository/acme/web?tab=tags&sort=-tag").content.decode()
    assert full.index('data-tag="v1"') < full.index('data-tag="alpha"')
    assert (
        'aria-label="Same manifest as v1"' in full and 'aria-label="Same manifest as alpha"' in full
    )
    assert f'data-select="manifest" data-digest="{w.v1.digest}"' in full
    assert 'aria-label="Change expiration of v1"' in full


def test_it_filters_tags_by_digest(client, w):
    other = f.image(w.web, "other")
    f.tag(w.web, "release", other)
    client.force_login(w.bob)
    html = client.get(f"/repository/acme/web?tab=tags&filter={other.digest[7:19]}").content.decode()
    assert 'data-tag="release"' in html and 'data-tag="v1"' not in html
    assert "Change expiration of" not in html  # bob only reads
