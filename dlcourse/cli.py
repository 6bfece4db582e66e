"""Command line: ``python -m dlcourse doctor | release``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dlcourse", description="The dlcourse command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check that this environment can run the course")
    rel = sub.add_parser("release", help="write student and instructor versions of the notebooks")
    rel.add_argument("--out", required=True, type=Path, help="folder to write student/ and instructor/ into")
    rel.add_argument("--source", type=Path, default=ROOT / "units", help="folder of instructor notebooks")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from .doctor import run

        return run()
    from .grading.release import ReleaseError, release

    try:
        report = release(args.source, args.out)
    except (ReleaseError, ValueError) as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return 1
    print(report)
    print(f"student notebooks in {args.out / 'student'}, instructor copies in {args.out / 'instructor'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
