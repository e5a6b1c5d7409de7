"""/: the user's namespace, or the list of readable repositories."""


def test_it_lists_a_users_readable_repositories_and_namespaces(client, w):
    client.force_login(w.bob)
    html = client.get("/").content.decode()
    assert "acme/web" in html and "acme/docs" in html and "other/secret" not in html
    assert 'href="/organization/acme"' in html and 'href="/user/bob"' in html


def test_it_lists_public_repositories_to_anonymous_visitors(client, w):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "acme/docs" in html and "acme/web" not in html and "other/secret" not in html
