"""Which image of a local source a ``:REF`` names: one rule for OCI layouts and ``docker save``
archives, for the CLI and the registry's importer alike (docs/engine.md, "Local sources").

An entry's names are its ``org.opencontainers.image.ref.name`` annotation and its digest (OCI
layout) or its ``RepoTags`` (docker save). A name ``N`` matches ``REF`` exactly (``N == REF``),
or loosely when ``REF`` is ``N``'s tag or ``N``'s repository (``REF=1`` or ``REF=x/y`` for
``N=x/y:1``). Exact matches win; then the loose ones. Either way exactly one entry must match,
or the source is refused with the names it holds. Without a ref, the source must hold exactly
one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from .errors import SourceError

T = TypeVar("T")


def split_name(name: str) -> tuple[str, str | None]:
    """``repo:tag`` into (repo, tag); a ``:`` before the last ``/`` is a registry port."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, None
    return repo, tag


def loosely_names(name: str, ref: str) -> bool:
    repo, tag = split_name(name)
    return ref in (repo, tag)


def select(entries: Sequence[T], names: Callable[[T], list[str]], ref: str | None, what: str) -> T:
    """The one entry of ``entries`` that ``ref`` names (see the module docstring)."""
    listed = sorted({n for e in entries for n in names(e) if not n.startswith("sha256:")})
    if ref is None:
        if len(entries) == 1:
            return entries[0]
        raise SourceError(
            f"the {what} holds {len(entries)} images; name one as PATH:REF (one of {listed})"
        )
    exact = [e for e in entries if ref in names(e)]
    chosen = exact or [e for e in entries if any(loosely_names(n, ref) for n in names(e))]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise SourceError(f"no image named {ref!r} in the {what}; it has: {listed}")
    raise SourceError(f"{ref!r} names {len(chosen)} images in the {what}; be exact: {listed}")
