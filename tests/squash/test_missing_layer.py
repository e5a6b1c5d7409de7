"""A layer whose file was deleted from storage, on a real stack: the squash pull and the blob
GET name the digest, never the server's storage path, and do not call the blob corrupt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories import PASSWORD
from tests.support.stack import Stack, acme_stack

from .images import make_layout

pytestmark = pytest.mark.integration

AUTH = ("alice", PASSWORD)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with acme_stack("qsmissing-") as running:
        yield running


def test_it_names_only_the_digest_of_a_layer_missing_from_storage(
    stack: Stack, tmp_path: Path
) -> None:
    layout = make_layout(tmp_path / "img", [{"a.txt": b"first\n"}, {"b.txt": b"second\n"}])
    # Without indexing on push: an index made now (and kept in some worker's memory) would let
    # the build plan and send headers before it meets the missing blob.
    stack.manage(
        "import_image", f"{layout}:latest", "acme/lost:v1", env={"QS_SQUASH_INDEX_ON_PUSH": "false"}
    )
    digest = (
        stack.python(
            "from quaysquash.registry.models import ManifestLayer\n"
            "print(ManifestLayer.objects.filter(manifest__repository__name='lost')"
            ".order_by('position').first().blob.digest)"
        )
        .strip()
        .splitlines()[-1]
    )
    hexdigest = digest.split(":", 1)[1]
    blob_file = stack.storage_root / "blobs" / "sha256" / hexdigest[:2] / hexdigest
    assert blob_file.is_file()
    assert not (stack.storage_root / "indexes" / "sha256" / f"{hexdigest}.idx").exists()
    blob_file.unlink()
    secrets = (str(stack.storage_root), str(stack.var_dir), "No such file", "corrupt")

    pull = requests.get(f"{stack.url}/c1/squash/acme/lost/v1", auth=AUTH, timeout=60)
    assert pull.status_code >= 400
    assert pull.headers["Content-Type"] == "application/json"
    [error] = pull.json()["errors"]
    assert error["message"] == f"layer {digest} is missing from storage", error
    assert not [s for s in secrets if s in pull.text]

    blob = requests.get(f"{stack.url}/v2/acme/lost/blobs/{digest}", auth=AUTH, timeout=10)
    assert blob.status_code == 404
    assert [e["code"] for e in blob.json()["errors"]] == ["BLOB_UNKNOWN"]
    assert digest in blob.text and not [s for s in secrets if s in blob.text]

    # The row the UI shows says the same.
    state = requests.get(
        f"{stack.url}/api/v1/repository/acme/lost/tag/v1/squash", auth=AUTH, timeout=10
    ).json()
    assert not [s for s in secrets if s in str(state)], state
