"""/api/v1/repository/<ns>/<repo>/tag/ and /tag/<tag>."""

from datetime import UTC, datetime

from quaysquash.registry.models import Tag
from tests.web import factories as f

from .helpers import put_tag


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
    resp = put_tag(client, "acme/web", "stable", manifest_digest=w.v1.digest)
    assert resp.status_code == 201, resp.content
    assert Tag.objects.active().get(repository=w.web, name="stable").manifest == w.v1


def test_it_moves_a_tag_keeping_history(client, w):
    v2 = f.image(w.web, "v2")
    client.force_login(w.alice)
    resp = put_tag(client, "acme/web", "v1", manifest_digest=v2.digest)
    assert resp.status_code == 201
    history = client.get("/api/v1/repository/acme/web/tag/?onlyActiveTags=false").json()["tags"]
    assert [(t["manifest_digest"], t["end_ts"] is None) for t in history] == [
        (v2.digest, True),
        (w.v1.digest, False),
    ]


def test_it_changes_and_removes_an_expiration(client, w):
    client.force_login(w.alice)
    when = int(datetime(2099, 1, 2, tzinfo=UTC).timestamp())
    resp = put_tag(client, "acme/web", "v1", expiration=when)
    assert resp.status_code == 201
    assert resp.json()["expiration_ts"] == when
    assert Tag.objects.active().get(repository=w.web, name="v1").expiration.year == 2099
    put_tag(client, "acme/web", "v1", expiration=None)
    assert Tag.objects.active().get(repository=w.web, name="v1").expiration is None


def test_it_deletes_a_tag(client, w):
    client.force_login(w.alice)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 204
    assert not Tag.objects.active().filter(repository=w.web, name="v1").exists()
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 404


def test_it_refuses_tag_changes_without_write(client, w):
    client.force_login(w.bob)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 403
    resp = put_tag(client, "acme/web", "x", manifest_digest=w.v1.digest)
    assert resp.status_code == 403
    client.force_login(w.eve)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 404


def test_it_lets_a_user_with_write_change_tags(client, w):
    f.grant_user(w.web, w.carol, "write")
    client.force_login(w.carol)
    assert client.delete("/api/v1/repository/acme/web/tag/v1").status_code == 204


def test_it_rejects_an_unknown_manifest_or_bad_tag_name(client, w):
    client.force_login(w.alice)
    resp = put_tag(client, "acme/web", "x", manifest_digest="sha256:" + "0" * 64)
    assert resp.status_code == 400
    resp = put_tag(client, "acme/web", ".bad", manifest_digest=w.v1.digest)
    assert resp.status_code in (400, 404)


def test_it_handles_repository_names_with_slashes(client, w):
    deep = f.repo(w.acme, "team/tools/cli")
    f.tag(deep, "v1", f.image(deep, "cli"))
    client.force_login(w.alice)
    data = client.get("/api/v1/repository/acme/team/tools/cli/tag/").json()
    assert [t["name"] for t in data["tags"]] == ["v1"]
    assert client.get("/api/v1/repository/acme/team/tools/cli").json()["name"] == "team/tools/cli"


def _names(client, query: str) -> list[str]:
    return [
        t["name"] for t in client.get(f"/api/v1/repository/acme/web/tag/?{query}").json()["tags"]
    ]


def test_it_sorts_by_every_column_on_the_server(client, w):
    small = f.image(w.web, "small", (10,))
    big = f.image(w.web, "big", (5000, 5000))
    f.tag(w.web, "b-small", small)
    f.tag(w.web, "a-big", big)
    amd = f.image(w.web, "amd2", (7000,))
    f.tag(w.web, "c-index", f.index(w.web, {"linux/amd64": amd}))
    Tag.objects.filter(repository=w.web, name="b-small").update(
        expiration=datetime(2099, 1, 1, tzinfo=UTC)
    )
    client.force_login(w.bob)
    assert _names(client, "sort=tag") == ["a-big", "b-small", "c-index", "v1"]
    assert _names(client, "sort=-tag") == ["v1", "c-index", "b-small", "a-big"]
    assert _names(client, "sort=size") == ["b-small", "v1", "c-index", "a-big"]
    assert _names(client, "sort=-size") == ["a-big", "c-index", "v1", "b-small"]
    assert _names(client, "sort=-modified")[0] == "c-index"
    assert _names(client, "sort=expires")[0] == "b-small"  # "never" sorts last
    assert _names(client, "sort=-expires")[0] == "b-small"
    by_digest = sorted(
        ["a-big", "b-small", "c-index", "v1"],
        key=lambda n: {
            "a-big": big.digest,
            "b-small": small.digest,
            "v1": w.v1.digest,
            "c-index": Tag.objects.get(name="c-index").manifest.digest,
        }[n],
    )
    assert _names(client, "sort=manifest") == by_digest
    assert _names(client, "sort=nonsense")[0] == "c-index"  # the default: newest first


def test_it_filters_by_digest_as_well_as_name(client, w):
    other = f.image(w.web, "other")
    f.tag(w.web, "release", other)
    client.force_login(w.bob)
    hex_part = other.digest.split(":")[1][:10]
    assert _names(client, f"filter_tag_name=like:{hex_part}") == ["release"]
    assert _names(client, f"filter_tag_name=like:{other.digest}") == ["release"]
    assert _names(client, "filter_tag_name=like:rele") == ["release"]


def test_it_lists_every_matching_name_and_the_tags_of_one_manifest(client, w):
    many = f.image(w.web, "many")
    for i in range(120):
        f.tag(w.web, f"b{i:03d}", many)
    client.force_login(w.bob)
    names = client.get("/api/v1/repository/acme/web/tag/names/").json()["tags"]
    assert len(names) == 121 and "v1" in names
    same = client.get(f"/api/v1/repository/acme/web/tag/names/?manifest_digest={w.v1.digest}")
    assert same.json()["tags"] == ["v1"]
    assert client.get("/api/v1/repository/acme/web/tag/names/?filter=b11").json()["tags"] == [
        f"b11{i}" for i in range(10)
    ]


def test_it_changes_many_tags_at_once(client, w):
    for name in ("x1", "x2", "x3"):
        f.tag(w.web, name, w.v1)
    client.force_login(w.alice)
    url = "/api/v1/repository/acme/web/tag/bulk/"
    resp = client.post(
        url,
        {"tags": ["x1", "x2", "nope"], "action": "expiration", "expiration": 4102444800},
        content_type="application/json",
    )
    assert resp.json() == {"changed": ["x1", "x2"], "missing": ["nope"]}
    assert Tag.objects.active().get(repository=w.web, name="x1").expiration.year == 2100
    resp = client.post(
        url, {"tags": ["x1", "x3"], "action": "delete"}, content_type="application/json"
    )
    assert resp.json() == {"changed": ["x1", "x3"], "missing": []}
    assert sorted(Tag.objects.active().filter(repository=w.web).values_list("name", flat=True)) == [
        "v1",
        "x2",
    ]
    client.force_login(w.bob)  # read only
    assert (
        client.post(
            url, {"tags": ["x2"], "action": "delete"}, content_type="application/json"
        ).status_code
        == 403
    )


def test_it_says_which_tags_are_squashable_images(client, w):
    f.tag(w.web, "chart", f.artifact(w.web))
    client.force_login(w.alice)
    tags = {t["name"]: t for t in client.get("/api/v1/repository/acme/web/tag/").json()["tags"]}
    assert tags["v1"]["squashable"] is True and tags["chart"]["squashable"] is False
    # Images name their read-only squashed pull; an artifact has none.
    assert tags["v1"]["squashed_pull"].endswith("/squashed/acme/web:v1")
    assert tags["chart"]["squashed_pull"] is None
    resp = client.get("/api/v1/repository/acme/web/tag/chart/fetch?kind=squash-docker")
    assert resp.status_code == 400 and "not a container image" in resp.content.decode()
    assert (
        client.get("/api/v1/repository/acme/web/tag/chart/fetch?kind=docker-tag").status_code == 200
    )
