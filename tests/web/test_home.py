"""/: the user's namespace, or the list of readable repositories."""


def test_it_redirects_a_user_to_their_namespace(client, w):
    client.force_login(w.alice)
    resp = client.get("/")
    assert resp.status_code == 302 and resp["Location"] == "/user/alice"


def test_it_lists_public_repositories_to_anonymous_visitors(client, w):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "acme/docs" in html and "acme/web" not in html and "other/secret" not in html
