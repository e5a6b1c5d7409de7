"""``gc [--max-bytes N]``: evict least recently used squashes down to the cache budget."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from quaysquash.squash.eviction import collect


class Command(BaseCommand):
    help = (
        "Fail dead builds, drop orphan files and evict LRU squashes to QS_SQUASH_CACHE_MAX_BYTES."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--max-bytes", type=int, default=None, help="override the budget")

    def handle(self, **options) -> None:
        self.stdout.write(json.dumps(collect(options["max_bytes"])))
