"""/api/v1/repository/<ns>/<repo>/permissions/robot/<short> and /permissions/user/<name>."""

from quaysquash.accounts.models import RepositoryPermission


def url(kind: str, name: str = "", repo: str = "acme/web") -> str:
    return f"/api/v1/repository/{repo}/permissions/{kind}/{name}"


def test_it_shows_a_robot_permission(client, w):
    client.force_login(w.alice)
    resp = client.get(url("robot", "deployer"))
    assert resp.json() == {"name": "acme+deployer", "kind": "robot", "role": "read"}
    assert client.get(url("robot", "norights")).status_code == 404


def test_it_grants_changes_and_revokes_a_robot_role(client, w):
    client.force_login(w.alice)
    resp = client.put(url("robot", "norights"), {"role": "write"}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert RepositoryPermission.objects.get(robot=w.norights, repository=w.web).role == "write"
    client.put(url("robot", "norights"), {"role": "admin"}, content_type="application/json")
    assert RepositoryPermission.objects.get(robot=w.norights, repository=w.web).role == "admin"
    assert client.delete(url("robot", "norights")).status_code == 204
    assert not RepositoryPermission.objects.filter(robot=w.norights).exists()
    assert client.delete(url("robot", "norights")).status_code == 404


def test_it_accepts_the_full_robot_name(client, w):
    client.force_login(w.alice)
    resp = client.put(
        url("robot", "acme+norights"), {"role": "read"}, content_type="application/json"
    )
    assert resp.status_code == 200


def test_it_refuses_a_robot_of_another_organization(client, w):
    client.force_login(w.root)
    resp = client.put(url("robot", "other+bot"), {"role": "read"}, content_type="application/json")
    assert resp.status_code == 404


def test_it_rejects_an_unknown_role(client, w):
    client.force_login(w.alice)
    resp = client.put(url("robot", "norights"), {"role": "owner"}, content_type="application/json")
    assert resp.status_code == 400


def test_it_manages_user_permissions(client, w):
    client.force_login(w.alice)
    resp = client.put(url("user", "carol"), {"role": "read"}, content_type="application/json")
    assert resp.status_code == 200
    assert client.get(url("user", "carol")).json()["role"] == "read"
    listing = client.get(url("user")).json()["permissions"]
    assert set(listing) == {"bob", "carol"}
    assert client.delete(url("user", "carol")).status_code == 204
    resp = client.put(url("user", "nobody"), {"role": "read"}, content_type="application/json")
    assert resp.status_code == 400


def test_it_lists_robot_permissions(client, w):
    client.force_login(w.alice)
    assert set(client.get(url("robot")).json()["permissions"]) == {"acme+deployer"}


def test_it_refuses_permission_changes_from_non_admins(client, w):
    client.force_login(w.bob)  # reader of acme/web
    assert client.get(url("robot", "deployer")).status_code == 403
    resp = client.put(url("robot", "norights"), {"role": "read"}, content_type="application/json")
    assert resp.status_code == 403
    client.force_login(w.eve)  # other organization: cannot even see acme/web
    assert client.get(url("robot", "deployer")).status_code == 404
    resp = client.put(url("user", "eve"), {"role": "admin"}, content_type="application/json")
    assert resp.status_code == 404
    client.logout()
    assert client.get(url("robot", "deployer")).status_code == 404


def test_it_lets_a_repository_admin_manage_permissions(client, w):
    from tests.web.factories import grant_user

    grant_user(w.web, w.carol, "admin")
    client.force_login(w.carol)
    resp = client.put(url("robot", "norights"), {"role": "read"}, content_type="application/json")
    assert resp.status_code == 200
