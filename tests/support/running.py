"""Lifetimes of the suite's servers: started in a temp dir of their own, stopped and the dir
removed however the code using them ends."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar


class Startable(Protocol):
    def start(self): ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


@contextmanager
def running(make: Callable[[Path], S], prefix: str) -> Iterator[S]:
    """``make(workdir).start()`` in a fresh temp dir; stopped and the dir removed after.

    ``make`` gets the directory: pass the class, or a lambda adding constructor options.
    """
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = make(workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
