"""/user/<name> and /organization/<org>?tab=repos|robots."""


def test_it_lists_an_organizations_readable_repositories(client, w):
    client.force_login(w.bob)
    html = client.get("/organization/acme").content.decode()
    assert "acme/web" in html and "acme/docs" in html
    client.force_login(w.carol)
    html = client.get("/organization/acme").content.decode()
    assert "acme/docs" in html and "acme/web" not in html


def test_it_searches_repositories(client, w):
    client.force_login(w.alice)
    html = client.get("/organization/acme?tab=repos&q=frontend").content.decode()
    assert "acme/web" in html and "acme/docs" not in html


def test_it_shows_robots_to_an_admin_without_tokens_in_the_html(client, w):
    client.force_login(w.alice)
    resp = client.get("/organization/acme?tab=robots")
    html = resp.content.decode()
    assert "acme+deployer" in html and "acme+norights" in html
    assert "Create robot account" in html
    # Tokens are fetched from the API on demand, never rendered into the page.
    assert w.deployer.token not in html and w.norights.token not in html


def test_it_hides_robot_management_from_non_admins(client, w):
    for who in (w.bob, w.carol, w.eve):
        client.force_login(who)
        html = client.get("/organization/acme?tab=robots").content.decode()
        assert "Only administrators" in html
        assert "acme+deployer" not in html and w.deployer.token not in html


def test_it_redirects_a_user_page_for_an_organization(client, w):
    assert client.get("/user/acme")["Location"] == "/organization/acme"
    assert client.get("/user/nobody").status_code == 404
    assert client.get("/organization/nobody").status_code == 404


def test_it_links_django_admin_for_superusers_only(client, w):
    client.force_login(w.root)
    assert 'href="/admin/"' in client.get("/organization/acme").content.decode()
    client.force_login(w.alice)
    assert 'href="/admin/"' not in client.get("/organization/acme").content.decode()


def test_it_filters_and_pages_robots(client, w):
    from tests.web import factories as f

    for i in range(25):
        f.robot(w.acme, f"batch{i:02d}")
    client.force_login(w.alice)
    first = client.get("/organization/acme?tab=robots").content.decode()
    assert "Page 1 of 2" in first and "27 robot accounts" in first
    assert "acme+batch00" in first and "acme+norights" not in first  # 20 a page, by name
    second = client.get("/organization/acme?tab=robots&page=2").content.decode()
    assert "acme+norights" in second and "acme+deployer" in second
    found = client.get("/organization/acme?tab=robots&q=deploy").content.decode()
    assert "acme+deployer" in found and "acme+batch00" not in found
    # The repository count opens the permission editor.
    assert 'aria-label="1 repository of acme+deployer: set repository permissions"' in found
    assert ">1 repository</button>" in found
