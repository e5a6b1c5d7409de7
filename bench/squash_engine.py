"""Squash engine benchmark: debian-app and a generated image (about 1 GiB, 100k files, 10 gzip
layers, with overwrites, whiteouts and opaque directories).

Measures, per image: indexing throughput, plan time from stored indexes, squash throughput
(docker-archive to /dev/null) against raw ISA-L decompression of the same layers, and the peak
RSS of a child process that runs the squash. Run from the repository root:

    .venv/bin/python bench/squash_engine.py [--write-docs]

``--write-docs`` replaces the ``## Squash engine`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from isal import igzip  # noqa: E402

from squashengine import (  # noqa: E402
    LayerIndex,
    LayerInput,
    index_layer,
    open_source,
    plan_squash,
    write_squash,
)
from squashengine.layoutwriter import LayoutWriter, image_config  # noqa: E402

DEBIAN_APP = (REPO / ".." / "shared" / "images" / "debian-app").resolve()
COMMAND = ".venv/bin/python bench/squash_engine.py --write-docs"


# -- generated image ------------------------------------------------------------------------


def generate_image(root: Path, files: int, layers: int, seed: int = 42) -> Path:
    """An OCI layout of ``layers`` gzip layers holding ``files`` files (about 1 GiB)."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))
        for _ in range(2000)
    ]
    text = " ".join(rng.choices(vocab, k=2_600_000)).encode()  # ~16 MB of compressible text
    noise = rng.randbytes(4 << 20)
    writer = LayoutWriter(root)
    per_layer = files // layers
    existing: list[str] = []
    descriptors = []
    diff_ids = []

    for k in range(layers):
        tar_path = root / f"layer{k}.tar"
        with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
            mtime = 1_700_000_000 + k

            def add_dir(name: str, tar=tar, mtime=mtime) -> None:
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = mtime
                tar.addfile(info)

            def add_file(name: str, tar=tar, mtime=mtime) -> None:
                if rng.random() < 0.95:
                    size = rng.randint(512, 8192)
                else:
                    size = rng.randint(32 << 10, 230 << 10)
                src = noise if rng.random() < 0.15 else text
                off = rng.randrange(0, len(src) - size)
                info = tarfile.TarInfo(name)
                info.size = size
                info.mode = 0o644
                info.mtime = mtime
                tar.addfile(info, _Slice(src, off, size))

            add_dir("data")
            add_dir(f"data/l{k}")
            new = []
            for d in range(100):
                add_dir(f"data/l{k}/d{d}")
                for f in range(per_layer // 100):
                    name = f"data/l{k}/d{d}/f{f}.txt"
                    add_file(name)
                    new.append(name)
            if existing:
                # upper layers rewrite 5% of lower files, delete 2%, make one directory opaque
                for name in rng.sample(existing, len(existing) // 20 // max(k, 1)):
                    add_file(name)
                for name in rng.sample(existing, len(existing) // 50 // max(k, 1)):
                    head, _, base = name.rpartition("/")
                    info = tarfile.TarInfo(f"{head}/.wh.{base}")
                    tar.addfile(info)
                victim = f"data/l{k - 1}/d{rng.randrange(100)}"
                add_dir(victim)
                tar.addfile(tarfile.TarInfo(f"{victim}/.wh..wh..opq"))
            existing.extend(new)
        raw = tar_path.read_bytes()
        tar_path.unlink()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descriptors.append(writer.layer(igzip.compress(raw, compresslevel=2)))

    config = image_config(diff_ids, config={"Cmd": ["/bin/sh"]})
    return writer.finish({"latest": writer.manifest(config, descriptors)})


class _Slice:
    def __init__(self, data: bytes, off: int, size: int) -> None:
        self.view = memoryview(data)[off : off + size]
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.view) - self.pos
        chunk = self.view[self.pos : self.pos + n]
        self.pos += len(chunk)
        return bytes(chunk)


# -- measurements ---------------------------------------------------------------------------


def decompress_all(source) -> tuple[float, int]:
    buf = bytearray(1 << 20)
    total = 0
    start = time.perf_counter()
    for _digest, _media, opener in source.layers:
        with opener() as raw:
            head = raw.read(2)
        with opener() as raw:
            reader = igzip.open(raw, "rb") if head == b"\x1f\x8b" else raw
            while n := reader.readinto(buf):
                total += n
    return time.perf_counter() - start, total


def child_squash(image: str, index_dir: str) -> None:
    """Runs in a child process: plan from stored indexes, squash to /dev/null, report."""
    start = time.perf_counter()
    with open_source(image) as source:
        layers = [
            LayerInput(
                d,
                opener,
                LayerIndex.from_bytes((Path(index_dir) / d.replace(":", "_")).read_bytes()),
            )
            for d, _m, opener in source.layers
        ]
        loaded = time.perf_counter()
        plan = plan_squash(layers, source.config, format="docker", repo_tag="bench/img:squashed")
        planned = time.perf_counter()
        cpu0 = time.process_time()
        with open(os.devnull, "wb") as out:
            result = write_squash(plan, out)
        done = time.perf_counter()
        cpu = time.process_time() - cpu0
    print(
        json.dumps(
            {
                "load_indexes_s": loaded - start,
                "plan_s": planned - loaded,
                "squash_s": done - planned,
                "squash_cpu_s": cpu,
                "size": result.size,
                "layer_size": plan.layer_size,
                "entries": plan.entries,
                "maxrss_kb": _vm_hwm_kb(),
            }
        )
    )


def _wait_for_quiet(limit: float) -> None:
    """The machine is shared: give other work a chance to finish before measuring."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= 1.5 and time.monotonic() < deadline:
        time.sleep(5)


def _vm_hwm_kb() -> int:
    """Peak RSS of this process's own address space. (ru_maxrss would also count the parent's
    pages: Linux carries the pre-exec high-water mark of a spawned child across execve.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_image(name: str, image: str, repeats: int = 5) -> dict:
    print(f"== {name}", flush=True)
    with open_source(image) as source:
        compressed = sum(os.path.getsize(_blob_path(image, d)) for d, _, _ in source.layers)
        # indexing
        start = time.perf_counter()
        indexes = [index_layer(opener, d) for d, _m, opener in source.layers]
        index_s = time.perf_counter() - start
        uncompressed = sum(ix.tar_size for ix in indexes)
        entries_in = sum(len(ix) for ix in indexes)
        index_dir = tempfile.mkdtemp(prefix="qs-bench-idx-")
        index_bytes = 0
        for ix in indexes:
            data = ix.to_bytes()
            index_bytes += len(data)
            (Path(index_dir) / ix.digest.replace(":", "_")).write_bytes(data)
        del indexes
        # Raw ISA-L decompression of the same layers and the squash (in a child process),
        # interleaved so that both see the same background load; best of ``repeats`` each.
        decomp = []
        runs = []
        for _ in range(repeats):
            cpu0 = time.process_time()
            decomp.append((decompress_all(source)[0], time.process_time() - cpu0))
            out = subprocess.run(
                [sys.executable, __file__, "--child", image, index_dir],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout))
    pair_ratios = sorted(d / r["squash_s"] for (d, _c), r in zip(decomp, runs, strict=True))
    decomp_s, decomp_cpu_s = min(decomp)
    best = min(runs, key=lambda r: r["squash_s"])
    for f in Path(index_dir).iterdir():
        f.unlink()
    os.rmdir(index_dir)
    mb = 1e6
    result = {
        "image": name,
        "compressed_mb": compressed / mb,
        "uncompressed_mb": uncompressed / mb,
        "entries_in": entries_in,
        "entries_out": best["entries"],
        "output_mb": best["size"] / mb,
        "index_s": index_s,
        "index_mb_s": uncompressed / mb / index_s,
        "index_kb": index_bytes / 1024,
        "plan_s": best["plan_s"],
        "load_indexes_s": best["load_indexes_s"],
        "decompress_s": decomp_s,
        "decompress_mb_s": uncompressed / mb / decomp_s,
        "squash_s": best["squash_s"],
        "squash_out_mb_s": best["size"] / mb / best["squash_s"],
        "squash_in_mb_s": uncompressed / mb / best["squash_s"],
        "time_ratio": decomp_s / best["squash_s"],
        "pair_ratio_median": pair_ratios[len(pair_ratios) // 2],
        "pair_ratio_max": pair_ratios[-1],
        "output_ratio": (best["size"] / best["squash_s"]) / (uncompressed / decomp_s),
        "squash_cpu_s": best["squash_cpu_s"],
        "decompress_cpu_s": decomp_cpu_s,
        "peak_rss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
        "loadavg": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=1), flush=True)
    return result


def _blob_path(image: str, digest: str) -> str:
    return os.path.join(image.split(":")[0], "blobs", "sha256", digest.split(":")[1])


def render(results: list[dict], generated: str) -> str:
    loads = ", ".join(f"{r['loadavg']:.1f}" for r in results)
    lines = [
        "## Squash engine",
        "",
        f"Command (from the repository root): `{COMMAND}` — {generated}.",
        "Machine: 2 cores shared with other engineers' test runs (1-minute load average at the",
        f"end of each image's runs: {loads}), page-cached blobs, output to /dev/null,",
        "docker-archive format (two sha256 over the layer: diff_id and archive), best of 5 runs",
        "interleaved with the decompression runs. The squash runs in a child process that loads the",
        "stored indexes, plans and streams; peak RSS is that child's VmHWM (its own high-water",
        "mark: `ru_maxrss` of a spawned child also counts the parent's pages, which Linux carries",
        "across execve).",
        "",
        "| image | layers in (gz / tar) | entries in → out | output | index | index size | plan | raw ISA-L decompress | squash | squash / decompress (time: best / median pair / best pair) | output MB/s / decompress MB/s | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['image']} | {r['compressed_mb']:.0f} MB / {r['uncompressed_mb']:.0f} MB "
            f"| {r['entries_in']} → {r['entries_out']} | {r['output_mb']:.0f} MB "
            f"| {r['index_s']:.2f} s ({r['index_mb_s']:.0f} MB/s of tar) | {r['index_kb']:.0f} KiB "
            f"| {r['plan_s'] * 1000:.0f} ms | {r['decompress_s']:.2f} s ({r['decompress_mb_s']:.0f} MB/s) "
            f"| {r['squash_s']:.2f} s ({r['squash_out_mb_s']:.0f} MB/s out, {r['squash_in_mb_s']:.0f} MB/s of layer tar) "
            f"| {r['time_ratio']:.2f} / {r['pair_ratio_median']:.2f} / {r['pair_ratio_max']:.2f} "
            f"| {r['output_ratio']:.2f} | {r['peak_rss_mb']:.0f} MB |"
        )
    lines.append("")
    for r in results:
        lines.append(
            f"- {r['image']}: CPU time, decompression {r['decompress_cpu_s']:.2f} s, squash "
            f"{r['squash_cpu_s']:.2f} s (both threads: decompression, two sha256, writing)."
        )
    lines += [
        "",
        'Targets: squash / decompress ≥ 0.85, peak RSS ≤ 150 MB. "squash / decompress (time)" is',
        "the time raw ISA-L decompression of all layers takes divided by the squash's time (the",
        "squash must decompress every layer too: whiteouts and hidden entries are decompressed and",
        'discarded). "output MB/s / decompress MB/s" compares the squash\'s output rate with the',
        "decompression rate of the layer tars; it is lower by the share of bytes upper layers hide.",
        "Best = best decompression time / best squash time; a pair = one decompression run and the",
        "squash run right after it (same background load). The squash needs both cores (ISA-L",
        "decompression in one thread, the two sha256 and the write in another); raw decompression",
        "needs one, so on a loaded machine the ratio drops. Its CPU time is close to the floor",
        "(decompression + 2 × sha256 of the output), see the CPU lines above.",
        "",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Squash engine\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("IMAGE", "INDEX_DIR"))
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300,
        help="seconds to wait at most for the 1-minute load average to drop below 1.5",
    )
    args = parser.parse_args()
    if args.child:
        child_squash(*args.child)
        return
    _wait_for_quiet(args.quiet_wait)
    results = [bench_image("debian-app", str(DEBIAN_APP))]
    with tempfile.TemporaryDirectory(prefix="qs-bench-img-") as tmp:
        start = time.perf_counter()
        image = generate_image(Path(tmp) / "generated", args.files, args.layers)
        gen_s = time.perf_counter() - start
        print(f"generated image in {gen_s:.0f} s", flush=True)
        _wait_for_quiet(args.quiet_wait)
        results.append(
            bench_image(
                f"generated ({args.files // 1000}k files, {args.layers} layers)", str(image)
            )
        )
    if args.write_docs:
        write_docs(render(results, time.strftime("%Y-%m-%d", time.gmtime())))


if __name__ == "__main__":
    main()
