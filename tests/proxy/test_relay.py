"""A large blob nobody has copied yet is streamed to the client while it is stored: checked
with the stack's worker stopped, so that no fetch task copies it first."""

from __future__ import annotations

import hashlib
import secrets

import requests

from tests.squash.images import layer_digests, make_layout


def test_it_streams_a_large_blob_from_the_upstream_while_storing_it(
    proxy_site, anon_upstream, tmp_path
):
    big = secrets.token_bytes(6 * 1024 * 1024)  # incompressible: the layer stays over 4 MiB
    layout = make_layout(tmp_path / "big", [{"big.bin": big}])
    proxy_site.skopeo(
        "copy", "--dest-tls-verify=false",
        f"oci:{layout}:latest", f"docker://{anon_upstream.host}/library/relayed:v1",
    )  # fmt: skip
    layer = layer_digests(layout)[0]
    auth = (proxy_site.robot, proxy_site.token)
    base = f"{proxy_site.stack.url}/v2/hub/library/relayed"
    stored = f"from quaysquash.proxy.blobstore import has_blob\nprint(has_blob({layer!r}))"
    proxy_site.stack.kill_worker()
    try:
        assert requests.get(f"{base}/manifests/v1", auth=auth, timeout=60).status_code == 200
        assert proxy_site.query(stored) == "False"
        response = requests.get(f"{base}/blobs/{layer}", auth=auth, stream=True, timeout=60)
        assert response.status_code == 200
        assert "ETag" not in response.headers  # relayed, not served from storage
        digest = hashlib.sha256()
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
        assert f"sha256:{digest.hexdigest()}" == layer
        assert proxy_site.query(stored) == "True"
        again = requests.get(f"{base}/blobs/{layer}", auth=auth, timeout=60)
        assert again.headers["ETag"] == f'"{layer}"'  # from storage now
        assert hashlib.sha256(again.content).hexdigest() == layer.split(":")[1]
    finally:
        proxy_site.stack.start_worker()
