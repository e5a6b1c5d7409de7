"""Signals other apps connect to; the registry sends them once the change is committed."""

from django.dispatch import Signal

# Sent once for every tag created or moved, by ``manifests.set_tag`` after the commit (a push by
# tag, ``import_image``, the API's retag); ``tag`` is the new Tag row. Receivers run in the
# caller's process after the commit: keep them quick (queue work); one that raises is logged.
tag_pushed = Signal()
