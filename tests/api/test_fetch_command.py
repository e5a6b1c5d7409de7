"""/api/v1/repository/<ns>/<repo>/tag/<tag>/fetch: the Fetch Tag modal's command."""

from django.test import override_settings

from tests.web import factories as f

BASE = "/api/v1/repository/acme/web/tag/v1/fetch"


@override_settings(QS_SERVER_HOSTNAME="reg.example:8000", QS_PREFERRED_URL_SCHEME="https")
def test_it_builds_the_squashed_command_with_the_token_for_an_admin(client, w):
    client.force_login(w.alice)
    data = client.get(BASE + "?kind=squash-docker&robot=deployer").json()
    assert data["command"] == (
        f"curl -fL -u 'acme+deployer:{w.deployer.token}' "
        "'https://reg.example:8000/c1/squash/acme/web/v1' | docker load"
    )
    assert data["token_included"] is True
    assert data["warning"] == ""
    assert data["robot"] == {"name": "acme+deployer", "can_read": True}


def test_it_shows_a_placeholder_token_to_a_non_admin(client, w):
    client.force_login(w.bob)
    resp = client.get(BASE + "?kind=squash-docker&robot=deployer")
    data = resp.json()
    assert "-u 'acme+deployer:TOKEN'" in data["command"]
    assert data["token_included"] is False
    assert w.deployer.token not in resp.content.decode()


def test_it_warns_when_the_robot_cannot_read(client, w):
    client.force_login(w.alice)
    data = client.get(BASE + "?kind=squash-docker&robot=norights").json()
    assert data["robot"]["can_read"] is False
    assert "does not have read permission" in data["warning"]


def test_it_builds_compressed_and_oci_variants(client, w):
    client.force_login(w.alice)
    gz = client.get(BASE + "?kind=squash-docker&robot=deployer&compression=gzip").json()
    assert "/c1/squash/acme/web/v1?compression=gzip' | docker load" in gz["command"]
    oci = client.get(BASE + "?kind=squash-oci&robot=deployer").json()["command"]
    assert oci.endswith("?format=oci' -o 'web-v1.tar' && podman load -i 'web-v1.tar'")


def test_it_builds_pull_commands(client, w, settings):
    host = settings.QS_SERVER_HOSTNAME
    client.force_login(w.bob)
    get = lambda fmt: client.get(BASE + "?kind=" + fmt).json()["command"]  # noqa: E731
    assert get("docker-tag") == f"docker pull {host}/acme/web:v1"
    assert get("docker-digest") == f"docker pull {host}/acme/web@{w.v1.digest}"
    assert get("podman-tag").endswith(f" {host}/acme/web:v1")
    assert get("podman-digest").endswith(f" {host}/acme/web@{w.v1.digest}")


def test_it_picks_and_validates_the_platform_of_an_index(client, w):
    amd, arm = f.image(w.web, "amd"), f.image(w.web, "arm")
    f.tag(w.web, "multi", f.index(w.web, {"linux/arm64": arm, "linux/amd64": amd}))
    client.force_login(w.alice)
    url = "/api/v1/repository/acme/web/tag/multi/fetch?kind=squash-docker&robot=deployer"
    data = client.get(url).json()
    assert data["platform"] == "linux/amd64"
    assert "?platform=linux/amd64'" in data["command"]
    data = client.get(url + "&platform=linux/arm64").json()
    assert "?platform=linux/arm64'" in data["command"]
    assert client.get(url + "&platform=windows/amd64").status_code == 400


def test_it_needs_no_robot_for_a_public_repository(client, w):
    data = client.get("/api/v1/repository/acme/docs/tag/latest/fetch?kind=squash-docker").json()
    assert data["command"].startswith("curl -fL '")
    assert data["warning"] == ""


def test_it_refuses_robots_to_callers_outside_the_organization(client, w):
    client.force_login(w.eve)
    url = "/api/v1/repository/acme/docs/tag/latest/fetch?kind=squash-docker&robot=deployer"
    assert client.get(url).status_code == 403
    assert client.get(BASE + "?kind=squash-docker").status_code == 404


def test_it_rejects_unknown_formats_tags_and_robots(client, w):
    client.force_login(w.alice)
    assert client.get(BASE + "?kind=zip").status_code == 400
    assert client.get("/api/v1/repository/acme/web/tag/nope/fetch").status_code == 404
    assert client.get(BASE + "?kind=squash-docker&robot=ghost").status_code == 404
    assert client.get(BASE + "?kind=squash-docker&robot=other+bot").status_code == 404


def test_it_builds_the_squashed_pull_and_kubernetes_text_for_an_admin(client, w, settings):
    settings.QS_SERVER_HOSTNAME, settings.QS_PREFERRED_URL_SCHEME = "reg.example:8000", "https"
    client.force_login(w.alice)
    login, pull = (
        client.get(BASE + "?kind=squash-pull&robot=deployer").json()["command"].split("\n")
    )
    assert login == f"docker login -u 'acme+deployer' -p '{w.deployer.token}' reg.example:8000"
    assert pull == "docker pull reg.example:8000/squashed/acme/web:v1"
    data = client.get(BASE + "?kind=squash-pull&robot=deployer").json()
    assert data["token_included"] is True and data["platform"] == ""
    kube = data["kubernetes"]
    assert w.deployer.token in kube["secret_command"] and kube["secret"]
    assert "image: reg.example:8000/squashed/acme/web:v1\n" in kube["pod"]
    podman = client.get(BASE + "?kind=squash-pull&robot=deployer&client=podman").json()
    assert podman["command"].endswith("\npodman pull reg.example:8000/squashed/acme/web:v1")
    assert client.get(BASE + "?kind=squash-pull&client=ctr").status_code == 400


def test_it_gives_a_non_admin_the_squashed_pull_without_the_token(client, w):
    client.force_login(w.bob)
    resp = client.get(BASE + "?kind=squash-pull&robot=deployer")
    data = resp.json()
    assert "-p 'TOKEN'" in data["command"] and data["token_included"] is False
    assert data["kubernetes"]["secret"] == ""
    assert w.deployer.token not in resp.content.decode()


def test_it_pins_the_squashed_digest_once_it_was_served(client, w):
    from quaysquash.registry import mediatypes
    from quaysquash.squash.pullmodels import SquashedManifest

    client.force_login(w.alice)
    url = BASE + "?kind=squash-pull&robot=deployer&by=digest"
    before = client.get(url).json()
    assert before["squashed_digest"] == "" and "pulled once" in before["warning"]
    assert before["command"].endswith("/squashed/acme/web:v1")
    pinned = "sha256:" + "c" * 64
    for media_type, digest in ((mediatypes.DOCKER_MANIFEST, "sha256:" + "d" * 64),
                               (mediatypes.OCI_MANIFEST, pinned)):  # fmt: skip
        SquashedManifest.objects.create(
            repository=w.web, digest=digest, media_type=media_type,
            source_digest=w.v1.digest, compression="gzip",
        )  # fmt: skip
    after = client.get(url).json()
    assert after["squashed_digest"] == pinned and after["warning"] == ""
    assert after["command"].endswith(f"/squashed/acme/web@{pinned}")
    assert f"/squashed/acme/web@{pinned}\n" in after["kubernetes"]["pod"]
