"""/signin/ and /signout/."""

from tests.web.factories import PASSWORD


def test_it_signs_in_and_out(client, w):
    page = client.get("/signin/")
    assert page.status_code == 200 and b'name="password"' in page.content
    resp = client.post("/signin/", {"username": "alice", "password": PASSWORD})
    assert resp.status_code == 302
    assert client.get("/api/v1/repository/acme/web").status_code == 200
    resp = client.post("/signout/")
    assert resp.status_code == 302
    assert client.get("/api/v1/repository/acme/web").status_code == 404


def test_it_rejects_a_wrong_password(client, w):
    resp = client.post("/signin/", {"username": "alice", "password": "nope"})
    assert resp.status_code == 200
    assert b"Invalid username or password" in resp.content


def test_it_refuses_a_robot_token_at_signin(client, w):
    # Robots authenticate to the registry and the squashed download, never to a session.
    resp = client.post("/signin/", {"username": "acme+deployer", "password": w.deployer.token})
    assert resp.status_code == 200
    assert b"Invalid username or password" in resp.content
    assert client.get("/api/v1/repository/acme/web").status_code == 404
