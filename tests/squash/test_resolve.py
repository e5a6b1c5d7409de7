"""quaysquash.squash.resolve on the pytest-django database: the platform picked from an index and
the name a digest pull is given."""

from __future__ import annotations

import pytest

from quaysquash.registry import mediatypes
from quaysquash.registry.models import Blob, Manifest, ManifestChild
from quaysquash.squash.resolve import Options, SquashHTTPError, choose_platform, resolve


def _index(db_repo, platforms: list[str]) -> Manifest:
    config = Blob.objects.create(digest="sha256:" + "c" * 64, size=2)
    parent = Manifest.objects.create(
        repository=db_repo, digest="sha256:" + "0" * 64, media_type=mediatypes.OCI_INDEX, raw=b"{}"
    )
    for i, platform in enumerate(platforms):
        os_, arch, *variant = platform.split("/")
        child = Manifest.objects.create(
            repository=db_repo,
            digest=f"sha256:{i + 1:064x}",
            media_type=mediatypes.OCI_MANIFEST,
            raw=b"{}",
            config_blob=config,
        )
        ManifestChild.objects.create(
            parent=parent,
            child=child,
            position=i,
            os=os_,
            architecture=arch,
            variant=variant[0] if variant else "",
        )
    return parent


def test_it_picks_linux_amd64_from_an_index_by_default(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64/v8", "linux/amd64"])
    assert choose_platform(parent, None)[1] == "linux/amd64"
    assert choose_platform(parent, "linux/arm64")[1] == "linux/arm64/v8"
    with pytest.raises(SquashHTTPError) as err:
        choose_platform(parent, "linux/s390x")
    assert err.value.status == 404
    assert err.value.detail == {"available": ["linux/arm64/v8", "linux/amd64"]}


def test_it_needs_a_platform_when_an_index_has_no_default(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64", "linux/ppc64le"])
    with pytest.raises(SquashHTTPError) as err:
        choose_platform(parent, None)
    assert "linux/arm64, linux/ppc64le" in str(err.value)


def test_it_takes_the_only_platform_of_an_index(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64"])
    assert choose_platform(parent, None)[1] == "linux/arm64"


def test_it_names_a_digest_pull_after_a_tag_on_that_manifest(tiny, robot_auth, rf, settings):
    tag, _ = tiny
    request = rf.get("/", **robot_auth)
    options = Options(None, "docker", "none")
    target = resolve(request, "acme", "tiny", None, tag.manifest.digest, options)
    assert target.repo_tag == f"{settings.QS_SERVER_HOSTNAME}/acme/tiny:v1"
    assert target.tag == ""  # the audit log still records a digest pull
