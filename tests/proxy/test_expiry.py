"""Cached images nobody pulls expire: tags and manifests go, with their squashed images;
blobs stay for the garbage collector; the next pull fetches the image again."""

from __future__ import annotations

import secrets

import requests

from tests.squash.images import layer_digests, make_layout
from tests.support.waiting import wait_for


def test_it_expires_unused_images_with_their_squashes(proxy_site, anon_upstream, tmp_path):
    layout = make_layout(tmp_path / "tiny", [{"hello.txt": secrets.token_bytes(1024)}])
    proxy_site.skopeo(
        "copy", "--dest-tls-verify=false",
        f"oci:{layout}:latest", f"docker://{anon_upstream.host}/library/tiny:v1",
    )  # fmt: skip
    org = f"exp{secrets.token_hex(2)}"
    proxy_site.create_proxy_org(org, anon_upstream.url)
    auth = proxy_site.robot_of(org)
    url = f"{proxy_site.stack.url}/c1/squash/{org}/library/tiny/v1"
    assert requests.get(url, auth=auth, timeout=120).status_code == 200
    state = (
        "from quaysquash.registry.models import Manifest, Tag\n"
        "from quaysquash.squash.models import SquashedImage\n"
        "from quaysquash.proxy.blobstore import has_blob\n"
        f"repo = dict(repository__namespace__name={org!r}, repository__name='library/tiny')\n"
        "print(Tag.objects.active().filter(**repo).count(), Manifest.objects.filter(**repo).count(),"
        " SquashedImage.objects.filter(**repo).count(),"
        f" has_blob({layer_digests(layout)[0]!r}))"
    )
    assert proxy_site.query(state) == "1 1 1 True"
    file_name = (
        "from quaysquash.squash.models import SquashedImage\n"
        f"print(SquashedImage.objects.get(repository__namespace__name={org!r}).file_name)"
    )
    # The pull ends at its last byte; the worker assembles the file (and names it) just after.
    wait_for(lambda: proxy_site.query(file_name) != "", timeout=60, what="the squash file")
    squash_file = proxy_site.stack.cache_dir / proxy_site.query(file_name)
    assert squash_file.is_file()
    expired = proxy_site.query(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from quaysquash.proxy.models import CachedImage\n"
        "from quaysquash.proxy.tasks import expire_cached_images\n"
        f"CachedImage.objects.filter(repository__namespace__name={org!r}).update("
        "last_used=timezone.now() - timedelta(days=31))\n"
        "print(expire_cached_images())"
    )
    assert expired == "1"
    assert proxy_site.query(state) == "0 0 0 True"
    assert not squash_file.exists()
    # Pulled again, it comes back from the upstream.
    assert requests.get(url, auth=auth, timeout=120).status_code == 200
    assert proxy_site.query(state) == "1 1 1 True"
