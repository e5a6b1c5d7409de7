"""/repository/<ns>/<repo>/tag/<tag> (web.tagpage) on the real debian-app image: layers, config
and the savings chart, rendered on the server."""


def test_it_renders_the_tag_page_with_layers_and_the_chart(client, w, app):
    client.force_login(w.bob)
    html = client.get("/repository/acme/web/tag/app").content.decode()
    savings = client.get("/api/v1/repository/acme/web/tag/app/savings").json()
    assert "debootstrap --variant=minbase bookworm" in html
    assert '<svg class="savings-chart" role="img"' in html
    assert f'data-field="saved_bytes" data-value="{savings["saved_bytes"]}"' in html
    assert "io.buildah.version=1.28.2" in html
    assert client.get("/repository/acme/web/tag/nosuch").status_code == 404
