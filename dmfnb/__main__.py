"""Command line: ``python -m dmfnb reproduce`` and ``python -m dmfnb assignments`` (see ``--help``).

Every argument and environment setting is checked before any experiment runs: a bad one is a
usage error (exit status 2) naming it and the fix.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def _writable_folder(parser: argparse.ArgumentParser, option: str, folder: str) -> None:
    path = Path(folder)
    if path.exists() and not path.is_dir():
        parser.error(f"{option} {folder} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        parser.error(f"{option} {folder} is not a writable folder ({err.strerror}); "
                     "give one you can write to")


def _parser(chapters: list[str]) -> argparse.ArgumentParser:
    from .infra.scales import SCALES

    parser = argparse.ArgumentParser(prog="python -m dmfnb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "reproduce", help="run a chapter's experiments headless; exit 1 when a check fails",
        description="Run a chapter's experiments headless, save JSON and figures, print its "
                    "tables beside the papers' and its check table; exit 1 when a check fails.",
        epilog=f"chapters: {', '.join(chapters)}, or all",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("chapter", help=f"one of {', '.join(chapters)}, or all")
    r.add_argument("--scale", choices=SCALES, default=None,
                   help="parameters to use (default: $DMFNB_SCALE, else default)")
    r.add_argument("--out", default="results", help="folder for the JSON results and figures")
    r.add_argument("--jobs", type=int, default=None,
                   help="worker processes for independent runs (default: $DMFNB_JOBS, else 1)")
    r.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="where training runs (default: $DMFNB_BACKEND, else numpy)")
    r.add_argument("--record", default=None, metavar="DIR",
                   help="also write each chapter's report to DIR/<chapter>-<scale>.json "
                        "(book/reproduced holds the paper-scale records the book shows)")
    r.add_argument("--force", action="store_true",
                   help="recompute every step, even those with a matching saved result")
    a = sub.add_parser("assignments", help="student, instructor, nbgrader-course and otter-grader notebooks",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    a.add_argument("--book", default="book", help="folder of the chapter notebooks")
    a.add_argument("--out", default="assignments", help="output folder")
    return parser


def _reproduce(parser: argparse.ArgumentParser, args, known: list[str]) -> int:
    from .infra import backend, parallel
    from .infra.reproduce import reproduce, verdict
    from .infra.scales import current_scale
    from .infra.verdict import record

    if args.chapter != "all" and args.chapter not in known:
        parser.error(f"unknown chapter {args.chapter!r}; choose from {', '.join(known)} or all")
    if args.jobs is not None:
        if args.jobs < 1:
            parser.error(f"--jobs must be ≥ 1, got {args.jobs}")
        os.environ["DMFNB_JOBS"] = str(args.jobs)
    if args.backend is not None:
        os.environ["DMFNB_BACKEND"] = args.backend
    try:
        scale = args.scale or current_scale()
        parallel.jobs()
        backend.namespace()
    except (ValueError, ImportError) as err:
        parser.error(str(err))
    _writable_folder(parser, "--out", args.out)
    if args.record:
        _writable_folder(parser, "--record", args.record)
    os.environ.setdefault("DMFNB_PROGRESS", "1")
    names = known if args.chapter == "all" else [args.chapter]
    reports = []
    for name in names:
        rep = reproduce(name, scale, args.out, force=args.force)
        reports.append(rep)
        if args.record:
            print(f"[{name}] recorded in {record(rep, args.record)}", flush=True)
    ok, line = verdict(reports)
    print(line, flush=True)
    return 0 if ok else 1


def _assignments(parser: argparse.ArgumentParser, args) -> int:
    from .infra.classroom import make_assignments

    book = Path(args.book)
    if not book.is_dir():
        parser.error(f"--book {args.book} is not a folder; give the folder of the chapter notebooks")
    _writable_folder(parser, "--out", args.out)
    written = make_assignments(book, args.out)
    if not written:
        parser.error(f"--book {args.book} holds no chapter with exercises (no .ipynb with nbgrader "
                     "solution cells); give the book's folder, e.g. --book book")
    for path in written:
        print(f"wrote {path} (and its instructor version)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .chapters import names

    known = names()
    parser = _parser(known)
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        return _reproduce(parser, args, known)
    return _assignments(parser, args)


if __name__ == "__main__":
    sys.exit(main())
