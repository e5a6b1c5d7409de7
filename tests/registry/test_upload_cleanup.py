"""``cleanup_stale_uploads`` (quaysquash/registry/tasks.py): stale sessions and orphaned files
go, live sessions stay."""

from __future__ import annotations

import datetime
import os
import time

from django.utils import timezone

from quaysquash.registry.models import Upload
from quaysquash.registry.tasks import cleanup_stale_uploads
from quaysquash.storage import get_storage as get_driver

from .uploading import start


def test_it_cleans_up_stale_sessions_and_orphaned_files(registry):
    stale = start(registry)
    registry.request("PATCH", stale, b"old bytes")
    fresh = start(registry)
    Upload.objects.filter(pk=stale.rsplit("/", 1)[1]).update(
        updated=timezone.now() - datetime.timedelta(days=2)
    )
    driver = get_driver()
    orphan = driver.staging_dir() / "ingest-orphan"  # an interrupted monolithic upload
    orphan.write_bytes(b"interrupted monolithic upload")
    # A chunk of a session whose row is gone (deleted on another host mid-request).
    stray = f"uploads/{'0' * 8}-0000-0000-0000-{'0' * 12}/x"
    driver.write(stray, [b"stray chunk"])
    old = time.time() - 3 * 86400
    for path in (orphan, driver.local_path(stray)):
        os.utime(path, (old, old))
    removed = cleanup_stale_uploads(max_age=datetime.timedelta(days=1))
    assert removed == {"sessions": 1, "files": 1, "tmp_removed": 1}
    assert registry.request("GET", stale).status_code == 404
    assert registry.request("GET", fresh).status_code == 204
    assert not orphan.exists() and driver.stat(stray) is None
