"""What the benchmark scripts share: their command line, the size of the test image, and
replacing their section of docs/benchmarks.md with a new measurement."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs" / "benchmarks.md"


def parse_reps_args(doc: str, default_reps: int = 5) -> argparse.Namespace:
    """``--reps N`` and ``--write-docs``, described by the first line of the script's doc."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--reps", type=int, default=default_reps)
    parser.add_argument("--write-docs", action="store_true")
    return parser.parse_args()


def image_size(layout: Path) -> int:
    """Bytes of the blobs of the OCI layout ``layout``; exits when the layout is missing."""
    if not (layout / "index.json").exists():
        sys.exit(f"missing test image {layout}")
    return sum(f.stat().st_size for f in (layout / "blobs").rglob("*") if f.is_file())


def machine_note(command: str) -> str:
    """The closing paragraph of a section: the machine, its load, when, and the command."""
    load = os.getloadavg()[0]
    return (
        f"Machine: {os.cpu_count()} cores (shared: 1-minute load average {load:.1f} at the "
        f"end of the run), {platform.system()} {platform.release()}; measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Command:\n\n"
        f"```\n{command}\n```\n"
    )


def write_section(section: str, text: str) -> None:
    """Replace the ``section`` heading and its body in docs/benchmarks.md (or append it)."""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    lines = current.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == section), None)
    if start is None:
        DOCS.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    DOCS.write_text("".join(lines[:start]) + text + ("\n" + rest if rest else ""))


def publish(section: str, body: str, command: str, write: bool) -> None:
    """Print ``body`` (the section's heading, text and table) with the machine note; with
    ``write`` also put it into docs/benchmarks.md."""
    text = body + "\n\n" + machine_note(command)
    print()
    print(text)
    if write:
        write_section(section, text)
