"""/api/v1/repository/<ns>/<repo>/tag/ and /tag/<tag>."""

from datetime import UTC, datetime

from quaysquash.registry.models import Tag
from tests.web import factories as f


def test_it_lists_tags_with_size_and_digest(client, w):
    client.force_login(w.bob)
    data = client.get("/api/v1/repository/acme/web/tag/").json()
    assert data["page"] == 1 and data["has_additional"] is False
    (tag,) = data["tags"]
    assert tag["name"] == "v1"
    assert tag["manifest_digest"] == w.v1.digest
    assert tag["size"] == 1234
    assert tag["is_manifest_list"] is False


def test_it_paginates_and_filters(client, w):
    manifest = f.image(w.web, "many")
    for i in range(30):
        f.tag(w.web, f"build-{i:02d}", manifest)
    client.force_login(w.alice)
    first = client.get("/api/v1/repository/acme/web/tag/?limit=10&page=1").json()
    assert len(first["tags"]) == 10 and first["has_additional"] is True
    last = client.get("/api/v1/repository/acme/web/tag/?limit=10&page=4").json()
    assert len(last["tags"]) == 1 and last["has_additional"] is False
    liked = client.get("/api/v1/repository/acme/web/tag/?filter_tag_name=like:build-1").json()
    assert sorted(t["name"] for t in liked["tags"]) == [f"build-1{i}" for i in range(10)]
    exact = client.get("/api/v1/repository/acme/web/tag/?specificTag=v1").json()
    assert [t["name"] for t in exact["tags"]] == ["v1"]


def test_it_shows_platforms_and_summed_size_of_an_index(client, w):
    amd = f.image(w.web, "amd", (100, 200))
    arm = f.image(w.web, "arm", (50,))
    f.tag(w.web, "multi", f.index(w.web, {"linux/amd64": amd, "linux/arm64/v8": arm}))
    client.force_login(w.bob)
    (tag,) = client.get("/api/v1/repository/acme/web/tag/?specificTag=multi").json()["tags"]
    assert tag["is_manifest_list"] is True
    assert tag["size"] == 350
    assert [(p["platform"], p["size"]) for p in tag["platforms"]] == [
        ("linux/amd64", 300),
        ("linux/arm64/v8", 50),
    ]


def test_it_hides_tags_of_unreadable_repositories(client, w):
    client.force_login(w.carol)
    assert client.get("/api/v1/repository/acme/web/tag/").status_code == 404
    client.force_login(w.eve)
    assert client.get("/api/v1/repository/acme/web/tag/").status_code == 404


def test_it_adds_a_tag_on_an_existing_manifest(client, w):
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/repository/acme/web/tag/stable",
        {"manifest_digest": w.v1.digest},
        content_type="application/json",
    )
    assert resp.status_code == 201, resp.content
    assert Tag.objects.active().get(repository=w.web, name="stable").manifest == w.v1


def test_it_moves_a_tag_keeping_history(client, w):
    v2 = f.image(w.web, "v2")
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/repository/acme/web/tag/v1",
        {"manifest_digest": v2.digest},
        content_type="application/json",
    )
    assert resp.status_code == 201
    history = client.get("/api/v1/repository/acme/web/tag/?onlyActiveTags=false").json()["tags"]
    assert [(t["manifest_digest"], t["end_ts"] is None) for t in history] == [
        (v2.digest, True),
        (w.v1.digest, False),
    ]


def test_it_changes_and_removes_an_expiration(client, w):
    client.force_login(w.alice)
    when = int(datetime(2099, 1, 2, tzinfo=UTC).timestamp())
    resp = client.put(
        "/api/v1/repository/acme/web/tag/v1", {"expiration": when}, content_type="application/json"
    )
    assert resp.status_code == 201
    assert resp.json()["expiration_ts"] == when
    assert Tag.objects.active().get(repository=w.web, name="v1").expiration.year == 2099
    client.put(
        "/api/v1/repository/acme/web/tag/v1", {"expiration": None}, content_type="application/json"
    )
    assert Tag.objects.active().get(repository=w.web, name="v1").expiration is None


def test_it_deletes_a_tag(client, w):
    client.force_login(w.alice)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 204
    assert not Tag.objects.active().filter(repository=w.web, name="v1").exists()
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 404


def test_it_refuses_tag_changes_without_write(client, w):
    client.force_login(w.bob)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 403
    resp = client.put(
        "/api/v1/repository/acme/web/tag/x",
        {"manifest_digest": w.v1.digest},
        content_type="application/json",
    )
    assert resp.status_code == 403
    client.force_login(w.eve)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 404


def test_it_lets_a_user_with_write_change_tags(client, w):
    f.grant_user(w.web, w.carol, "write")
    client.force_login(w.carol)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 204


def test_it_rejects_an_unknown_manifest_or_bad_tag_name(client, w):
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/repository/acme/web/tag/x",
        {"manifest_digest": "sha256:" + "0" * 64},
        content_type="application/json",
    )
    assert resp.status_code == 400
    resp = client.put(
        "/api/v1/repository/acme/web/tag/.bad",
        {"manifest_digest": w.v1.digest},
        content_type="application/json",
    )
    assert resp.status_code in (400, 404)


def test_it_handles_repository_names_with_slashes(client, w):
    deep = f.repo(w.acme, "team/tools/cli")
    f.tag(deep, "v1", f.image(deep, "cli"))
    client.force_login(w.alice)
    data = client.get("/api/v1/repository/acme/team/tools/cli/tag/").json()
    assert [t["name"] for t in data["tags"]] == ["v1"]
    assert client.get("/api/v1/repository/acme/team/tools/cli").json()["name"] == "team/tools/cli"
