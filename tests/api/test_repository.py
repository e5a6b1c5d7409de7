"""/api/v1/repository and /api/v1/repository/<ns>/<repo>."""

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Tag

from .helpers import statuses_as


def test_it_shows_a_readable_repository(client, w):
    client.force_login(w.bob)
    data = client.get("/api/v1/repository/acme/web").json()
    assert data["name"] == "web"
    assert data["namespace"] == "acme"
    assert data["tag_count"] == 1
    assert data["can_write"] is False and data["can_admin"] is False


def test_it_answers_404_for_a_private_repository_the_caller_cannot_read(client, w):
    web, nope = "/api/v1/repository/acme/web", "/api/v1/repository/acme/nope"
    assert statuses_as(client, w.carol, web, nope) == [404, 404]
    assert statuses_as(client, None, web) == [404]


def test_it_shows_public_repositories_to_anyone(client, w):
    assert client.get("/api/v1/repository/acme/docs").json()["is_public"] is True


def test_it_lists_only_readable_repositories(client, w):
    client.force_login(w.eve)
    names = {r["name"] for r in client.get("/api/v1/repository").json()["repositories"]}
    assert names == {"docs", "secret"}
    client.force_login(w.alice)
    data = client.get("/api/v1/repository?namespace=acme").json()["repositories"]
    assert {r["name"] for r in data} == {"docs", "web"}


def test_it_lets_an_admin_change_visibility_description_and_auto_prime(client, w):
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/repository/acme/web",
        {"visibility": "public", "description": "new", "auto_prime": True},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    w.web.refresh_from_db()
    assert (w.web.is_public, w.web.description, w.web.auto_prime) == (True, "new", True)


def test_it_refuses_changes_from_a_reader(client, w):
    client.force_login(w.bob)
    resp = client.put(
        "/api/v1/repository/acme/web", {"visibility": "public"}, content_type="application/json"
    )
    assert resp.status_code == 403
    assert client.delete("/api/v1/repository/acme/web").status_code == 403
    client.force_login(w.eve)
    assert client.delete("/api/v1/repository/acme/web").status_code == 404


def test_it_deletes_a_repository_with_its_tags(client, w):
    client.force_login(w.alice)
    assert client.delete("/api/v1/repository/acme/web").status_code == 204
    assert not Repository.objects.filter(pk=w.web.pk).exists()
    assert not Tag.objects.filter(repository_id=w.web.pk).exists()


def test_it_requires_csrf_for_session_writes(w):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(w.alice)
    resp = csrf_client.put(
        "/api/v1/repository/acme/web", {"description": "x"}, content_type="application/json"
    )
    assert resp.status_code == 403
