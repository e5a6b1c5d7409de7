"""/api/v1/schema/: the OpenAPI document."""


def test_it_serves_an_openapi_schema_with_the_quay_paths(client, db):
    resp = client.get("/api/v1/schema/?format=json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert "/api/v1/organization/{org}/robots" in paths
    assert "/api/v1/repository/{ns}/{repo}/tag/" in paths
    assert any(p.endswith("/permissions/{kind}/{name}") for p in paths)


def test_it_generates_the_schema_without_warnings(db):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
