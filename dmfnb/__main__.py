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
    args = parser.parse_args(argv)
    if args.command == "assignments":
        from .classroom import make_assignments

        for path in make_assignments(args.book, args.out):
            print(f"wrote {path} (and its instructor version)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
