"""python -m squashengine SOURCE [-o FILE] [--format docker|oci|rootfs] [--platform os/arch]
[--tag NAME] [--compression none|gzip|zstd]

SOURCE is a local OCI image layout ``DIR[:ref]`` or a ``docker save`` tar (``FILE[:tag]``).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import (
    COMPRESSIONS,
    FORMATS,
    SquashError,
    open_source,
    plan_squash,
    write_squash,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m squashengine",
        description="Squash an image's layers into one docker-load (or OCI, or rootfs) tarball.",
    )
    parser.add_argument("source", help="OCI layout DIR[:ref] or docker save tar FILE[:tag]")
    parser.add_argument("-o", "--output", help="output file (default: stdout)")
    parser.add_argument("--format", choices=FORMATS, default="docker")
    parser.add_argument("--platform", help="os/arch[/variant] to pick from an image index")
    parser.add_argument("--tag", help="name:tag to give the squashed image")
    parser.add_argument("--compression", choices=COMPRESSIONS, default="none")
    args = parser.parse_args(argv)

    if args.output is None and sys.stdout.isatty():
        print("error: refusing to write an archive to a terminal; use -o FILE", file=sys.stderr)
        return 2
    partial = None
    try:
        with open_source(args.source, args.platform) as source:
            layers = source.layer_inputs()
            plan = plan_squash(
                layers,
                source.config,
                format=args.format,
                repo_tag=args.tag,
                compression=args.compression,
            )
            if args.output is None:
                result = write_squash(plan, sys.stdout.buffer)
            else:
                partial = args.output + ".partial"
                with open(partial, "wb") as out:
                    result = write_squash(plan, out)
                os.replace(partial, args.output)
                partial = None
    except SquashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        print("error: output closed early", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)
    print(
        f"{result.size} bytes, {plan.entries} entries, sha256 {result.sha256}, "
        f"layer diff_id {result.diff_id}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
