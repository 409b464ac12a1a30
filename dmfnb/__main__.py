"""Command line: ``python -m dmfnb assignments`` (and ``reproduce``, see ``--help``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmfnb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assignments", help="student and instructor notebooks (nbgrader conventions)")
    a.add_argument("--book", default="book", help="folder of the chapter notebooks")
    a.add_argument("--out", default="assignments", help="output folder")
    r = sub.add_parser("reproduce", help="run a chapter's experiments headless, save JSON and figures")
    r.add_argument("chapter", help="a chapter name, or 'all'")
    r.add_argument("--scale", default=None, help="default or paper (default: $DMFNB_SCALE)")
    r.add_argument("--out", default="results", help="folder for the JSON results and figures")
    r.add_argument("--jobs", type=int, default=None,
                   help="worker processes for independent runs (default: $DMFNB_JOBS or 1)")
    r.add_argument("--force", action="store_true",
                   help="recompute every step, even those with a matching saved result")
    r.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="where training runs: numpy, or cupy on an NVIDIA GPU "
                        "(default: $DMFNB_BACKEND or numpy)")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        import os

        from .infra.reproduce import chapters, reproduce, verdict
        from .infra.scales import current_scale

        os.environ.setdefault("DMFNB_PROGRESS", "1")
        if args.jobs is not None:
            if args.jobs < 1:
                parser.error(f"--jobs must be ≥ 1, got {args.jobs}")
            os.environ["DMFNB_JOBS"] = str(args.jobs)
        if args.backend is not None:
            os.environ["DMFNB_BACKEND"] = args.backend
        scale = args.scale or current_scale()
        known = sorted(chapters())
        if args.chapter != "all" and args.chapter not in known:
            parser.error(f"unknown chapter {args.chapter!r}; choose from {', '.join(known)} or all")
        names = known if args.chapter == "all" else [args.chapter]
        reports = [reproduce(name, scale, args.out, force=args.force) for name in names]
        ok, line = verdict(reports)
        print(line, flush=True)
        if not ok:
            return 1
    elif args.command == "assignments":
        from .infra.classroom import make_assignments

        for path in make_assignments(args.book, args.out):
            print(f"wrote {path} (and its instructor version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
