"""What goes wrong upstream becomes a clear error here, and nothing of it is cached: bad
credentials, digest mismatches, manifests and blobs over the limits, an unreachable or empty
upstream; pushes are refused; only the organization's principals make it fetch."""

from __future__ import annotations

import secrets
import subprocess

import pytest
import requests

from tests.support.tools import free_port, require, require_debian_app

from .conftest import UPSTREAM_USER
from .fakeupstream import LAYER, FakeUpstream, digest_of


@pytest.fixture(scope="module")
def fake():
    """One misbehaving upstream for the module (the conftest's is one a test)."""
    with FakeUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def fake_org(proxy_site, fake) -> tuple[str, tuple[str, str]]:
    org = f"fake{secrets.token_hex(2)}"
    proxy_site.create_proxy_org(org, fake.url)
    return org, proxy_site.robot_of(org)


def get(site, path: str, auth=None, method: str = "GET") -> requests.Response:
    return requests.request(method, f"{site.stack.url}{path}", auth=auth, timeout=60)


def repositories(site, org: str) -> list[str]:
    out = site.query(
        "from quaysquash.accounts.models import Repository\n"
        f"print(sorted(Repository.objects.filter(namespace__name={org!r})"
        ".values_list('name', flat=True)))"
    )
    return eval(out)  # a printed list of names


def error(response: requests.Response) -> dict:
    return response.json()["errors"][0]


def test_it_reports_bad_upstream_credentials_and_caches_nothing(proxy_site, basic_upstream):
    org = f"badcreds{secrets.token_hex(2)}"
    proxy_site.create_proxy_org(
        org, basic_upstream.url, "--username", UPSTREAM_USER, password="wrong-password"
    )
    robot, token = proxy_site.robot_of(org)
    response = get(proxy_site, f"/v2/{org}/library/debian-app/manifests/v1", (robot, token))
    assert response.status_code == 502
    assert "refused the credentials" in error(response)["message"]
    assert "wrong-password" not in response.text
    assert repositories(proxy_site, org) == []
    logs = proxy_site.stack.web_log.read_text() + proxy_site.stack.worker_log.read_text()
    assert "wrong-password" not in logs


@pytest.mark.parametrize(
    ("repo", "reason"),
    [
        ("bad/manifest", "announced"),  # its bytes are not the digest the upstream announced
        ("big/manifest", "limit"),  # the manifest is over the size limit
        ("big/blob", "over the"),  # one of its blobs is over the size limit
    ],
    ids=["digest-mismatch", "manifest-over-limit", "blob-over-limit"],
)
def test_it_refuses_an_upstream_manifest_it_cannot_take_and_stores_nothing(
    proxy_site, fake_org, repo: str, reason: str
):
    org, auth = fake_org
    response = get(proxy_site, f"/v2/{org}/{repo}/manifests/v1", auth)
    assert response.status_code == 502
    assert reason in error(response)["message"]
    assert repo not in repositories(proxy_site, org)


def test_it_refuses_a_blob_whose_bytes_do_not_match_and_drops_the_image(proxy_site, fake_org):
    org, auth = fake_org
    manifest = get(proxy_site, f"/v2/{org}/bad/blob/manifests/v1", auth)
    assert manifest.status_code == 200  # the manifest itself is fine
    blob = get(proxy_site, f"/v2/{org}/bad/blob/blobs/{digest_of(LAYER)}", auth)
    assert blob.status_code == 502
    assert "digest" in error(blob)["message"]
    stored = proxy_site.query(
        f"from quaysquash.proxy.blobstore import has_blob\nprint(has_blob({digest_of(LAYER)!r}))"
    )
    assert stored == "False"
    # The fetch task meets the same bytes and drops the image: the tag is not served stale.
    from tests.support.waiting import wait_for

    def dropped() -> bool:
        return (
            proxy_site.query(
                "from quaysquash.registry.models import Tag\n"
                f"print(Tag.objects.active().filter(repository__namespace__name={org!r}, "
                "repository__name='bad/blob').exists())"
            )
            == "False"
        )

    wait_for(dropped, timeout=30)
    squash = get(proxy_site, f"/c1/squash/{org}/bad/blob/v1", auth)
    assert squash.status_code == 502
    assert "digest" in error(squash)["message"]


def test_it_reports_an_unreachable_upstream_when_nothing_is_cached(proxy_site):
    org = f"down{secrets.token_hex(2)}"
    proxy_site.create_proxy_org(org, f"http://127.0.0.1:{free_port()}")
    robot, token = proxy_site.robot_of(org)
    response = get(proxy_site, f"/v2/{org}/library/debian-app/manifests/v1", (robot, token))
    assert response.status_code == 502
    assert "unreachable" in error(response)["message"]
    assert repositories(proxy_site, org) == []


def test_it_answers_manifest_unknown_for_what_the_upstream_lacks(proxy_site):
    response = get(
        proxy_site,
        "/v2/hub/library/no-such-image/manifests/v1",
        (proxy_site.robot, proxy_site.token),
    )
    assert response.status_code == 404
    assert error(response)["code"] == "MANIFEST_UNKNOWN"
    assert "library/no-such-image" not in repositories(proxy_site, "hub")


def test_it_refuses_pushes_with_a_clear_error(proxy_site):
    admin = ("proxyadmin", "proxy-admin-password")
    response = requests.post(
        f"{proxy_site.stack.url}/v2/hub/library/mine/blobs/uploads/", auth=admin, timeout=30
    )
    assert response.status_code == 403
    assert error(response) == {
        "code": "DENIED",
        "message": "proxy organization: pushes are refused",
        "detail": {"name": "hub/library/mine"},
    }
    put = requests.put(
        f"{proxy_site.stack.url}/v2/hub/library/mine/manifests/v1", auth=admin, data=b"{}",
        timeout=30,
    )  # fmt: skip
    assert put.status_code == 403 and error(put)["code"] == "DENIED"
    result = subprocess.run(
        [require("skopeo"), "copy", "--dest-tls-verify=false", "--dest-creds", ":".join(admin),
         f"oci:{require_debian_app()}:latest", f"docker://{proxy_site.host}/hub/library/mine:v1"],
        capture_output=True, text=True, timeout=120,
        env={"HOME": str(proxy_site.home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "pushes are refused" in result.stderr


def test_it_lets_only_the_organizations_principals_fetch_new_names(proxy_site):
    path = "/v2/hub/library/debian-app/manifests/v1"
    anonymous = get(proxy_site, "/v2/hub/library/other-name/manifests/v1")
    assert anonymous.status_code == 401
    proxy_site.stack.manage("create_org", "elsewhere", "--admin", "proxyadmin")
    outsider = proxy_site.robot_of("elsewhere", f"r{secrets.token_hex(2)}")
    refused = get(proxy_site, "/v2/hub/library/other-name/manifests/v1", outsider)
    assert refused.status_code == 404 and error(refused)["code"] == "NAME_UNKNOWN"
    # An existing private repository of the proxy answers like any other.
    get(proxy_site, path, tuple((proxy_site.robot, proxy_site.token)))
    assert get(proxy_site, path).status_code == 401
    assert get(proxy_site, path, outsider).status_code == 404
    assert "library/other-name" not in repositories(proxy_site, "hub")
