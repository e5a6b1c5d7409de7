"""A work-around for kombu's Redis transport killing the worker when Redis restarts mid-task.

Seen with kombu 5.7.0 (redis transport): Redis goes away while the worker waits in ``BRPOP``
with a task running (a build under ``acks_late``). Celery's consumer then

1. calls ``Connection.collect()``, which closes the default channel. ``Channel.close`` first
   reads the pending ``BRPOP`` reply (``_brpop_read``, added so a popped message is not lost,
   celery/kombu#1733); on a dead socket that raises ``ConnectionError`` *before* the channel is
   marked closed. ``collect`` ignores the error and detaches the transport
   (``transport.client = None``);
2. calls ``connection.close()``, which closes the same, still open channel again. This time
   it gets past the read and restores the unacknowledged message, which needs a new connection
   pool, whose parameters are read from ``transport.client.hostname``: ``AttributeError``.
   That is no connection error, so ``ignore_errors`` lets it through and the worker stops with
   "Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")".

The same ``AttributeError`` hits the running task's late ack when it finishes on the channel of
the lost connection. No setting avoids the path (it runs whenever ``BRPOP`` is outstanding,
which is almost always), so two small patches, applied once when the worker starts:

- ``Channel.close``: when the pending ``BRPOP`` read fails with a connection error, finish
  closing anyway (the reply died with its socket), so the restore runs once, while the
  transport is still attached; a restore that cannot reach Redis leaves the message in the
  unacked hash, where ``visibility_timeout`` restores it later;
- ``Channel._connparams``: a channel whose connection was released raises a connection error
  instead of ``AttributeError``, which every caller (close, ack) already handles as "broker
  unreachable": the ack is logged as failed and the message comes back after the visibility
  timeout; ``build_squash`` is idempotent (a duplicate backs off), so that is harmless.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)

_APPLIED = "_quaysquash_restart_fix"


def apply() -> bool:
    """Patch kombu's Redis channel once; returns True if this call applied it."""
    import redis
    from kombu.transport import redis as transport

    channel = transport.Channel
    if getattr(channel, _APPLIED, False):
        return False

    original_close = channel.close
    original_connparams = channel._connparams

    @functools.wraps(original_close)
    def close(self) -> None:
        try:
            original_close(self)
        except self.connection_errors:
            if self.closed:
                raise  # the restore itself failed: the caller ignores connection errors
            # ``_brpop_read`` failed (it has reset ``_in_poll``): close the rest now, while the
            # transport is attached, instead of leaving a half-closed channel behind.
            log.warning("broker connection lost while closing a channel; closing it anyway")
            original_close(self)

    @functools.wraps(original_connparams)
    def _connparams(self, *args, **kwargs):
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("the broker connection of this channel was released")
        return original_connparams(self, *args, **kwargs)

    channel.close = close
    channel._connparams = _connparams
    setattr(channel, _APPLIED, True)
    return True
