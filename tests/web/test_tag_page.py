"""The tag page (quaysquash.web.tagpage) through the Django test client: pull lines."""

from tests.web import factories as f


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
