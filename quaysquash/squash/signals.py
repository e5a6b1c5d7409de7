"""Auto-prime: build the squash of every newly pushed tag of a repository that opted in."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def on_tag_pushed(sender, tag, **kwargs) -> None:
    """Prime the default squash (platform default, docker format, uncompressed) of ``tag``."""
    if not tag.repository.auto_prime:
        return
    from . import priming

    try:
        priming.prime_tag(tag.repository, tag.name)
    except Exception as exc:  # a push must never fail because priming could not start
        log.warning("auto-prime of %s failed: %s", tag, exc)


def connect() -> None:
    try:
        from quaysquash.registry.signals import tag_pushed
    except ImportError:
        log.debug("quaysquash.registry.signals not available; auto-prime disabled")
        return
    tag_pushed.connect(on_tag_pushed, dispatch_uid="squash-auto-prime")
