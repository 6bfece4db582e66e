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
    rel.add_argument("--book", action="store_true",
                     help="also lay out OUT/student-book and OUT/instructor-book for `jupyter-book build`")
    gr = sub.add_parser(
        "grade", help="grade submitted notebooks in a sandbox",
        description="Grade submissions in a bubblewrap sandbox where the library's implementations are absent. "
                    "OUT/grades.csv gets one row per submission graded now; rows and feedback files of other "
                    "submissions already in OUT are left untouched, so regrading a few students updates only "
                    "their rows.")
    gr.add_argument("--unit", required=True, type=int, help="the unit whose exercises are graded")
    gr.add_argument("--out", required=True, type=Path,
                    help="folder for grades.csv and feedback/ (existing rows of other submissions are kept)")
    gr.add_argument("submissions", nargs="+", help="notebooks, or folders (one per student, or a folder of them)")
    gr.add_argument("--jobs", type=int, default=2, help="notebooks graded in parallel (default 2)")
    gr.add_argument("--timeout", type=float, default=120.0,
                    help="wall-clock seconds for the cells of one notebook (default 120)")
    gr.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell (default 30)")
    gr.add_argument("--call-timeout", type=float, default=10.0,
                    help="seconds per call of a graded function on one test case (default 10)")
    gr.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per process (MiB)")
    gr.add_argument("--secret", default=None,
                    help="a phrase mixed into the random test inputs "
                         "(default: a random one kept in OUT/.grading-secret)")
    gr.add_argument("--no-sandbox", action="store_true",
                    help="run without bubblewrap: limits only, NO isolation of files or network (unsafe)")
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(args)
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
    if args.book:
        from .grading.release import assemble_books

        for book in assemble_books(ROOT, args.out):
            print(f"book source in {book}: build it with `jupyter-book build {book}`")
    return 0


def _grade(args) -> int:
    from .grading.grade import grade
    from .grading.library import GraderSetupError
    from .grading.sandbox import Limits

    if args.no_sandbox:
        print("WARNING: --no-sandbox: submissions run WITHOUT isolation of files or network, with resource limits "
              "only.", file=sys.stderr)
    try:
        limits = Limits(total_seconds=args.timeout, cell_seconds=args.cell_timeout, call_seconds=args.call_timeout,
                        memory_mb=args.memory_mb)
        grades = grade(args.submissions, args.unit, args.out, limits=limits, jobs=args.jobs, secret=args.secret,
                       sandbox=False if args.no_sandbox else None)
    except GraderSetupError as exc:
        print(f"grade stopped before grading anything: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
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
