"""/api/v1/organization/<org>/robots, /robots/<short> and /robots/<short>/regenerate."""

import base64

from quaysquash.accounts.models import RobotAccount
from quaysquash.accounts.principals import authenticate_credentials

from .helpers import statuses_as


def test_it_lists_robots_with_tokens_for_an_admin(client, w):
    client.force_login(w.alice)
    data = client.get("/api/v1/organization/acme/robots?permissions=true").json()
    assert data["is_admin"] is True
    by_name = {r["name"]: r for r in data["robots"]}
    assert set(by_name) == {"acme+deployer", "acme+norights"}
    assert by_name["acme+deployer"]["token"] == w.deployer.token
    assert by_name["acme+deployer"]["repositories"] == ["web"]
    assert by_name["acme+deployer"]["permissions"] == [{"repository": "web", "role": "read"}]


def test_it_omits_tokens_when_asked(client, w):
    client.force_login(w.alice)
    data = client.get("/api/v1/organization/acme/robots?token=false").json()
    assert all("token" not in r for r in data["robots"])


def test_it_never_shows_tokens_to_a_non_admin(client, w):
    client.force_login(w.bob)
    resp = client.get("/api/v1/organization/acme/robots?permissions=true&token=true")
    assert resp.status_code == 200
    assert all("token" not in r for r in resp.json()["robots"])
    assert w.deployer.token not in resp.content.decode()
    detail = client.get("/api/v1/organization/acme/robots/deployer")
    assert detail.status_code == 200 and "token" not in detail.json()
    assert w.deployer.token not in detail.content.decode()


def test_it_marks_robots_that_can_read_a_repository(client, w):
    client.force_login(w.bob)
    data = client.get("/api/v1/organization/acme/robots?repository=web").json()
    assert {r["name"]: r["can_read"] for r in data["robots"]} == {
        "acme+deployer": True,
        "acme+norights": False,
    }


def test_it_refuses_robot_lists_to_outsiders(client, w):
    robots = "/api/v1/organization/acme/robots"
    assert statuses_as(client, w.eve, robots, f"{robots}/deployer") == [403, 403]
    assert statuses_as(client, None, robots) == [403]
    nosuch = ["/api/v1/organization/nosuch/robots", f"{robots}/nosuch"]
    assert statuses_as(client, w.alice, *nosuch) == [404, 404]


def test_it_creates_a_robot(client, w):
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/organization/acme/robots/builder",
        {"description": "CI builds"},
        content_type="application/json",
    )
    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["name"] == "acme+builder" and len(data["token"]) == 64
    assert RobotAccount.objects.get_by_full_name("acme+builder").description == "CI builds"


def test_it_rejects_bad_or_duplicate_robot_names(client, w):
    client.force_login(w.alice)
    url = "/api/v1/organization/acme/robots/"
    assert client.put(url + "deployer", {}, content_type="application/json").status_code == 400
    assert client.put(url + "x", {}, content_type="application/json").status_code == 400
    assert client.put(url + "Bad", {}, content_type="application/json").status_code == 404


def test_it_refuses_robot_changes_from_non_admins(client, w):
    client.force_login(w.bob)
    base = "/api/v1/organization/acme/robots/"
    assert client.put(base + "sneaky", {}, content_type="application/json").status_code == 403
    assert client.delete(base + "deployer").status_code == 403
    assert client.post(base + "deployer/regenerate").status_code == 403
    client.force_login(w.eve)
    assert client.delete(base + "deployer").status_code == 403
    assert RobotAccount.objects.filter(pk=w.deployer.pk).exists()


def test_it_deletes_a_robot(client, w):
    client.force_login(w.alice)
    assert client.delete("/api/v1/organization/acme/robots/deployer").status_code == 204
    assert not RobotAccount.objects.filter(pk=w.deployer.pk).exists()


def test_it_regenerates_a_token_and_the_old_one_stops_working(client, w):
    old = w.deployer.token
    client.force_login(w.alice)
    resp = client.post("/api/v1/organization/acme/robots/deployer/regenerate")
    assert resp.status_code == 200
    new = resp.json()["token"]
    assert new != old and len(new) == 64
    assert authenticate_credentials("acme+deployer", old) is None
    assert authenticate_credentials("acme+deployer", new).pk == w.deployer.pk


def test_it_does_not_accept_robot_basic_auth_on_the_ui_api(client, w):
    # The pages' API authenticates by session; robots use the registry and squash endpoints.
    header = "Basic " + base64.b64encode(f"acme+deployer:{w.deployer.token}".encode()).decode()
    resp = client.get("/api/v1/repository/acme/web", HTTP_AUTHORIZATION=header)
    assert resp.status_code == 404
