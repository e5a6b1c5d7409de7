"""/api/v1/repository/<ns>/<repo>/tag/history/ and /tag/<tag>/restore."""

from datetime import timedelta

from django.utils import timezone

from quaysquash.registry.manifests import delete_tag
from quaysquash.registry.models import Manifest, Tag
from tests.web import factories as f

HISTORY = "/api/v1/repository/acme/web/tag/history/"


def restore(client, tag: str, digest: str):
    return client.post(
        f"/api/v1/repository/acme/web/tag/{tag}/restore",
        {"manifest_digest": digest},
        content_type="application/json",
    )


def moved_prod(w):
    good, bad = f.image(w.web, "good"), f.image(w.web, "bad")
    f.tag(w.web, "prod", good)
    f.tag(w.web, "prod", bad)
    return good, bad


def test_it_words_events_as_quay_does(client, w):
    good, bad = moved_prod(w)
    f.tag(w.web, "tmp", good)
    delete_tag(w.web, "tmp")
    client.force_login(w.alice)
    events = client.get(HISTORY).json()["events"]
    messages = [e["message"] for e in events]
    assert f"prod was moved to {bad.digest} from {good.digest}" in messages
    assert f"prod was created pointing to {good.digest}" in messages
    assert f"tmp was deleted (it pointed to {good.digest})" in messages
    moved = next(e for e in events if e["kind"] == "moved")
    assert moved["restore_action"] == "Revert"
    assert moved["restore_digest"] == good.digest
    assert moved["current_digest"] == bad.digest


def test_it_reverts_a_bad_move_and_keeps_both_lifetimes(client, w):
    good, bad = moved_prod(w)
    client.force_login(w.alice)
    resp = restore(client, "prod", good.digest)
    assert resp.status_code == 200, resp.content
    assert resp.json()["manifest_digest"] == good.digest
    assert Tag.objects.active().get(repository=w.web, name="prod").manifest == good
    lifetimes = Tag.objects.filter(repository=w.web, name="prod").order_by("lifetime_start")
    assert [t.manifest.digest for t in lifetimes] == [good.digest, bad.digest, good.digest]
    events = client.get(HISTORY + "?filter=prod").json()["events"]
    assert events[0]["message"] == f"prod was moved to {good.digest} from {bad.digest}"
    # The move now offers to go forward again, to the bad one.
    assert events[0]["restore_digest"] == bad.digest


def test_it_restores_a_deleted_tag(client, w):
    client.force_login(w.alice)
    delete_tag(w.web, "v1")
    deleted = next(e for e in client.get(HISTORY).json()["events"] if e["kind"] == "deleted")
    assert deleted["restore_action"] == "Restore" and deleted["current_digest"] is None
    assert restore(client, "v1", w.v1.digest).status_code == 200
    assert Tag.objects.active().get(repository=w.web, name="v1").manifest == w.v1


def test_it_refuses_a_manifest_the_tag_never_pointed_to(client, w):
    other = f.image(w.web, "other")
    client.force_login(w.alice)
    resp = restore(client, "v1", other.digest)
    assert resp.status_code == 400
    assert "never pointed" in str(resp.json()["manifest_digest"])
    assert Tag.objects.active().get(repository=w.web, name="v1").manifest == w.v1


def test_it_does_not_offer_a_deleted_manifest(client, w):
    good, bad = moved_prod(w)
    Manifest.objects.filter(pk=good.pk).update(deleted=timezone.now())
    client.force_login(w.alice)
    events = client.get(HISTORY).json()["events"]
    assert all(e["restore_digest"] != good.digest for e in events)
    assert restore(client, "prod", good.digest).status_code == 400


def test_it_lets_readers_see_but_not_restore(client, w):
    good, _ = moved_prod(w)
    client.force_login(w.bob)  # read on acme/web
    events = client.get(HISTORY).json()["events"]
    assert events and all(e["restore_digest"] is None for e in events)
    assert restore(client, "prod", good.digest).status_code == 403
    client.force_login(w.carol)
    assert client.get(HISTORY).status_code == 404
    assert restore(client, "prod", good.digest).status_code == 404


def test_it_shows_future_expirations_only_when_asked(client, w):
    Tag.objects.filter(repository=w.web, name="v1").update(
        expiration=timezone.now() + timedelta(days=3)
    )
    client.force_login(w.bob)
    assert all(e["kind"] != "expires" for e in client.get(HISTORY).json()["events"])
    events = client.get(HISTORY + "?future=true").json()["events"]
    (future,) = [e for e in events if e["kind"] == "expires"]
    assert future["future"] is True and future["tag"] == "v1"
    assert future["message"] == f"v1 will expire (it points to {w.v1.digest})"


def test_it_filters_history_by_digest(client, w):
    good, bad = moved_prod(w)
    client.force_login(w.alice)
    hex_part = bad.digest.split(":")[1][:12]
    events = client.get(HISTORY + f"?filter={hex_part}").json()["events"]
    assert events and all(e["tag"] == "prod" for e in events)
    assert all(w.v1.digest not in (e["manifest_digest"], e["old_manifest_digest"]) for e in events)
