"""The tag page (quaysquash.web.tagpage) through the Django test client: pull lines."""

import json

from quaysquash.registry import mediatypes
from quaysquash.registry.manifests import store_manifest
from tests.web import factories as f


def test_it_names_the_read_only_squashed_pull_of_an_image(client, w, settings):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/v1").content.decode()
    assert f"docker pull {settings.QS_SERVER_HOSTNAME}/squashed/acme/web:v1" in html
    assert "Pull squashed" in html


def test_it_offers_no_squashed_pull_for_an_artifact(client, w):
    config = f._blob(w.web, b"{}", "application/vnd.example.helm.config.v1+json")
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "config": config, "layers": []}
    ).encode()
    f.tag(w.web, "chart", store_manifest(w.web, raw))
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/chart").content.decode()
    assert "squashed/acme/web" not in html
