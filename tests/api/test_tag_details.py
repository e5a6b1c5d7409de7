"""/tag/<tag>/details and /tag/<tag>/savings (api.views.tagdetails) on the real debian-app image."""

from __future__ import annotations

from tests.web import factories as f


def test_it_shows_config_and_the_command_of_every_layer(client, w, app):
    client.force_login(w.bob)
    data = client.get("/api/v1/repository/acme/web/tag/app/details").json()
    assert data["manifest_digest"] == app.manifest.digest and data["is_manifest_list"] is False
    image = data["image"]
    assert image["cmd"] == ["/bin/bash"] and image["os"] == "linux"
    assert image["labels"] == {"io.buildah.version": "1.28.2"}
    assert image["env"][0].startswith("PATH=")
    commands = [layer["created_by"] for layer in image["layers"]]
    assert len(commands) == 5
    assert commands[0] == "debootstrap --variant=minbase bookworm"
    assert "rm /opt/app/main.py" in commands[4]
    assert image["empty_steps"] == ["umoci config"]  # a step that made no layer
    assert image["size"] == sum(layer["size"] for layer in image["layers"])


def test_it_computes_what_squashing_debian_app_saves(client, w, app):
    client.force_login(w.bob)
    data = client.get("/api/v1/repository/acme/web/tag/app/savings").json()
    layers = data["layers"]
    assert len(layers) == 5
    assert data["saved_bytes"] == data["layered_tar"] - data["squashed_tar"] > 0
    # The 4th layer's rm -rf of apt lists and docs deletes content of the lower layers...
    assert layers[0]["deleted_bytes"] > 0 and layers[0]["deleted_files"] > 0
    # ...the last one deletes /opt/app/main.py of the COPY layer, and nothing is above it.
    assert layers[3]["deleted_files"] >= 1
    assert layers[4]["lost_bytes"] == 0
    assert data["deleted_bytes"] == sum(layer["deleted_bytes"] for layer in layers)
    assert data["layered_compressed"] == sum(
        layer["size"] for layer in app.manifest.layers.values()
    )


def test_it_refuses_savings_for_artifacts_and_names_missing_blobs(client, w, app):
    f.tag(w.web, "meta-only", f.image(w.web, "no-blobs"))
    client.force_login(w.bob)
    resp = client.get("/api/v1/repository/acme/web/tag/meta-only/savings")
    assert resp.status_code == 400 and "could not be read" in resp.content.decode()
    assert "/storage/" not in resp.content.decode()  # no server paths
    client.force_login(w.carol)
    assert client.get("/api/v1/repository/acme/web/tag/app/savings").status_code == 404


def test_it_shows_the_platforms_of_an_index(client, w, app):
    arm = f.image(w.web, "arm", (10,))
    f.tag(w.web, "multi", f.index(w.web, {"linux/amd64": app.manifest, "linux/arm64": arm}))
    client.force_login(w.bob)
    data = client.get("/api/v1/repository/acme/web/tag/multi/details").json()
    assert data["platform"] == "linux/amd64" and data["image"]["digest"] == app.manifest.digest
    assert [p["platform"] for p in data["platforms"]] == ["linux/amd64", "linux/arm64"]
    arm_data = client.get("/api/v1/repository/acme/web/tag/multi/details?platform=linux/arm64")
    assert arm_data.json()["image"]["digest"] == arm.digest
    bad = client.get("/api/v1/repository/acme/web/tag/multi/details?platform=linux/s390x")
    assert bad.status_code == 400
    html = client.get("/repository/acme/web/tag/multi?platform=linux/arm64").content.decode()
    assert 'aria-current="page" title="' + arm.digest in html
