"""Hostile layers at full size, through the CLI (``squashengine.__main__``) in a subprocess whose
peak memory is measured: a gzip of 20 GiB of zeros, a 1 GiB PAX record, sparse and truncated
files declaring 1 TiB. Each is refused quickly, under the default limits, in bounded memory, and
leaves no output behind.

The peak is the process's own ``VmHWM`` read at its end: ``ru_maxrss`` would also count the
pytest process it was forked from (the high-water mark survives exec)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import bombs

REPO_ROOT = Path(__file__).resolve().parents[2]
MEMORY_BUDGET = 200 << 20
# The CLI, then its own peak resident size on the last line of stderr.
RUN_CLI = """
import sys
from squashengine.__main__ import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
print("VmHWM", peak, file=sys.stderr)
sys.exit(code)
"""


def _squash(layout: Path, out: Path) -> tuple[int, str, float, int]:
    """(exit code, stderr, seconds, peak RSS in bytes) of the CLI squashing ``layout``."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", RUN_CLI, str(layout), "-o", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=300,
    )
    took = time.monotonic() - started
    *lines, last = result.stderr.decode().strip().splitlines()
    assert last.startswith("VmHWM "), last
    return result.returncode, "\n".join(lines), took, int(last.split()[1]) * 1024


BOMBS = {
    "zeros-20GiB-gzip": (bombs.zeros_gzip, "max_inflation_ratio=100", 60),
    "pax-record-1GiB": (bombs.pax_record_gzip, "max_header_bytes=1048576", 10),
    "gnu-sparse-1TiB": (bombs.gnu_sparse_gzip, "max_output_bytes=", 10),
    "pax-sparse-1TiB": (bombs.pax_sparse_gzip, "max_output_bytes=", 10),
    "size-field-1TiB": (lambda p: bombs.short_body_gzip(p, bombs.TiB), "max_output_bytes=", 10),
    "size-field-10GiB": (lambda p: bombs.short_body_gzip(p, 10 << 30), "truncated", 10),
}


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_it_refuses_a_hostile_layer_quickly_in_bounded_memory(tmp_path, case):
    make, reason, seconds = BOMBS[case]
    bomb = make(tmp_path / "layer")
    assert bomb.path.stat().st_size < 24 << 20  # what an attacker uploads
    layout = bombs.oci_layout(tmp_path / "layout", bomb)
    out = tmp_path / "out.tar"
    try:
        code, stderr, took, peak = _squash(layout, out)
    finally:
        bomb.path.unlink()
        shutil.rmtree(layout)  # it holds a hardlink to the blob
    assert code == 1, stderr
    assert bomb.digest in stderr and reason in stderr, stderr
    assert took < seconds, f"took {took:.1f}s"
    assert peak < MEMORY_BUDGET, f"peak RSS {peak >> 20} MiB"
    assert not out.exists() and not (tmp_path / "out.tar.partial").exists()
    print(f"{case}: refused in {took:.2f}s, peak RSS {peak / (1 << 20):.1f} MiB")
