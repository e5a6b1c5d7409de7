"""/repository/<ns>/<repo>/tag/<tag> (web.tagpage) through the Django test client: layers,
config, the savings chart and the pull lines, rendered on the server."""

from tests.web import factories as f


def test_it_renders_the_tag_page_with_layers_and_the_chart(client, w, app):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/app").content.decode()
    savings = client.get("/api/v1/repository/acme/web/tag/app/savings").json()
    assert "debootstrap --variant=minbase bookworm" in html
    assert '<svg class="savings-chart" role="img"' in html
    assert f'data-field="saved_bytes" data-value="{savings["saved_bytes"]}"' in html
    assert "io.buildah.version=1.28.2" in html
    assert client.get("/repository/acme/web/tag/nosuch").status_code == 404


def test_it_names_the_read_only_squashed_pull_of_an_image(client, w, settings):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/v1").content.decode()
    assert f"docker pull {settings.QS_SERVER_HOSTNAME}/squashed/acme/web:v1" in html
    assert "Pull squashed" in html


def test_it_offers_no_squashed_pull_for_an_artifact(client, w):
    f.tag(w.web, "chart", f.artifact(w.web))
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/chart").content.decode()
    assert "squashed/acme/web" not in html
