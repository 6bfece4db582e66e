"""Command line: ``python -m dlcourse doctor | release | grade | workspace``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dlcourse", description="The dlcourse command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    doc = sub.add_parser("doctor", help="check that this environment can run the course")
    doc.add_argument("--instructor", action="store_true",
                     help="also check the instructor's tools (bubblewrap for grading, the test and book tools)")
    rel = sub.add_parser("release", help="write student and instructor versions of the notebooks")
    rel.add_argument("--out", required=True, type=Path, help="folder to write student/ and instructor/ into")
    rel.add_argument("--source", type=Path, default=ROOT / "units", help="folder of instructor notebooks")
    rel.add_argument("--book", action="store_true",
                     help="also lay out OUT/student-book and OUT/instructor-book for `jupyter-book build`")
    gr = sub.add_parser("grade", help="grade submitted notebooks in a sandbox")
    gr.add_argument("--unit", required=True, type=int, help="the unit whose exercises are graded")
    gr.add_argument("--out", required=True, type=Path, help="folder for grades.csv and feedback/")
    gr.add_argument("submissions", nargs="+", help="notebooks, or folders (one per student, or a folder of them)")
    gr.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel (default 2)")
    gr.add_argument("--timeout", type=float, default=180.0, help="wall-clock seconds per notebook (default 180)")
    gr.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell and per graded call")
    gr.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per notebook (MiB)")
    gr.add_argument("--secret", default="", help="instructor's secret mixed into the random test inputs")
    gr.add_argument("--no-sandbox", action="store_true", help="run without bubblewrap (limits only; unsafe)")
    # -- workspace (student helper) --
    wsp = sub.add_parser("workspace", help="create or refresh the student workspace (never overwrites your work)")
    wsp.add_argument("--dest", type=Path, default=None, help="the workspace folder (default: workspace/)")
    wsp.add_argument("--source", type=Path, default=None, help="folder of course notebooks (default: units/)")
    # -- end workspace --
    args = parser.parse_args(argv)
    if args.command == "workspace":
        return _workspace(args)
    if args.command == "grade":
        return _grade(args)
    if args.command == "doctor":
        from .doctor import run

        return run(instructor=args.instructor)
    from .grading.release import ReleaseError, release

    try:
        report = release(args.source, args.out)
    except (ReleaseError, ValueError) as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return 1
    print(report)
    print(f"student notebooks in {args.out / 'student'}, instructor copies in {args.out / 'instructor'}")
    if args.book:
        from .grading.release import assemble_books

        for book in assemble_books(ROOT, args.out):
            print(f"book source in {book}: build it with `jupyter-book build {book}`")
    return 0


def _workspace(args) -> int:
    from .grading.release import ReleaseError
    from .workspace import DEFAULT_DEST, UNITS, build_workspace

    try:
        report = build_workspace(args.dest or DEFAULT_DEST, args.source or UNITS)
    except (ReleaseError, ValueError) as exc:
        print(f"workspace failed: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 1 if report.errors else 0


def _grade(args) -> int:
    from .grading.grade import grade
    from .grading.sandbox import Limits, have_bubblewrap

    sandbox = False if args.no_sandbox else have_bubblewrap()
    if not sandbox:
        print("WARNING: bubblewrap is " + ("disabled" if args.no_sandbox else "not installed") + ": submissions "
              "run WITHOUT isolation (network, files), with resource limits only. "
              "Install it: apt-get install bubblewrap", file=sys.stderr)
    limits = Limits(total_seconds=args.timeout, cell_seconds=args.cell_timeout, memory_mb=args.memory_mb,
                    cpu_seconds=int(2 * args.timeout))
    try:
        grades = grade(args.submissions, args.unit, args.out, limits=limits, jobs=args.jobs, secret=args.secret,
                       sandbox=sandbox)
    except ValueError as exc:
        print(f"grade failed: {exc}", file=sys.stderr)
        return 1
    counts = {}
    for g in grades:
        counts[g.status] = counts.get(g.status, 0) + 1
    print(f"graded {len(grades)} submission(s): " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    print(f"grades in {args.out / 'grades.csv'}, feedback in {args.out / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
