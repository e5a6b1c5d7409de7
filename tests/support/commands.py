"""Running a command of the suite's tools and failing the test with its output when it fails."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .tools import REPO_ROOT

MANAGE = REPO_ROOT / "manage.py"


def run_checked(
    command: Sequence[str],
    *,
    what: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | bytes | None = None,
    check: bool = True,
    text: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run ``command`` capturing its output (``text`` or bytes); with ``check`` a non-zero
    exit raises AssertionError showing the tails of stdout and stderr."""
    result = subprocess.run(
        list(command),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=text,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        out, err = (
            s.decode(errors="replace") if isinstance(s, bytes) else s
            for s in (result.stdout, result.stderr)
        )
        raise AssertionError(
            f"{what or ' '.join(map(str, command))} failed ({result.returncode}):\n"
            f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-4000:]}"
        )
    return result


def run_manage(
    *args: str,
    env: Mapping[str, str],
    where: str = "",
    check: bool = True,
    input: str | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in ``env`` (a stack's or a cluster host's); ``where`` names the host
    in the failure message."""
    return run_checked(
        [sys.executable, str(MANAGE), *args],
        what=f"manage.py {' '.join(args)}{f' on {where}' if where else ''}",
        env=env,
        cwd=REPO_ROOT,
        input=input,
        check=check,
        timeout=timeout,
    )
