"""Signals other apps connect to; the registry sends them once the change is committed."""

from django.dispatch import Signal

# Sent after a manifest PUT by tag has created or moved the tag; ``tag`` is the new Tag row.
# Receivers run in the request, after the transaction committed: keep them quick (queue work).
tag_pushed = Signal()
