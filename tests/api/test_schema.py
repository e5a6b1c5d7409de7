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


def test_it_declares_a_response_schema_for_every_operation(client, db):
    doc = client.get("/api/v1/schema/?format=json").json()
    missing = []
    for path, ops in doc["paths"].items():
        if path.endswith("/schema/"):
            continue
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                if code == "204":
                    continue
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                ref = schema.get("$ref", "")
                # A named component with properties, not a bare "object".
                name = ref.rsplit("/", 1)[-1]
                props = doc["components"]["schemas"].get(name, {}).get("properties")
                if not props:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    for path in (
        "/api/v1/repository/{ns}/{repo}/tag/history/",
        "/api/v1/repository/{ns}/{repo}/tag/{tag}/restore",
        "/api/v1/repository/{ns}/{repo}/tag/{tag}/savings",
        "/api/v1/organization/{org}/robots/{short}/credentials",
    ):
        assert path in doc["paths"]
