"""Command line: ``python -m dlcourse doctor | release | grade | gradebook | workspace``."""

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
    rel.add_argument("--out", type=Path, help="folder to write student/ and instructor/ into")
    rel.add_argument("--git", type=Path, metavar="DIR",
                     help="write (or update, as one new commit) the student repository for nbgitpuller links")
    rel.add_argument("--nbgrader", type=Path, metavar="DIR", help="write an nbgrader course (source/ and config)")
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
    wsp = sub.add_parser("workspace", help="create or refresh the student workspace (never overwrites your work)")
    wsp.add_argument("--dest", type=Path, default=None, help="the workspace folder (default: workspace/)")
    wsp.add_argument("--source", type=Path, default=None, help="folder of course notebooks (default: units/)")
    _add_gradebook_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "workspace":
        return _workspace(args)
    if args.command == "gradebook":
        return _gradebook(args)
    if args.command == "grade":
        return _grade(args)
    if args.command == "doctor":
        from .doctor import run

        return run(instructor=args.instructor)
    if not (args.out or args.git or args.nbgrader):
        parser.error("release needs --out DIR, --git DIR or --nbgrader DIR")
    if args.git or args.nbgrader:
        code = _release_for_hub(args)
        if code or not args.out:
            return code
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
    # Learn once (cached in ~/.cache/dlcourse) which library functions grading removes, so that a student's first
    # check() does not wait for it; it never raises.
    from .checks.library_use import kept_keys

    kept_keys()
    return 1 if report.errors else 0


def _release_for_hub(args) -> int:
    from .grading.release import ReleaseError
    from .grading.student_repo import install_url, write_student_repo

    try:
        if args.git:
            print(write_student_repo(args.git, ROOT, args.source, install_from=install_url(ROOT)))
        if args.nbgrader:
            from .grading.nbgrader_course import write_nbgrader_course

            print(write_nbgrader_course(args.nbgrader, args.source))
    except (ReleaseError, ValueError) as exc:
        print(f"release failed: {exc}", file=sys.stderr)
        return 1
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


# --- gradebook (kept apart from the grade command's code to ease merging) --------------------------------------


def _add_gradebook_parser(sub) -> None:
    gb = sub.add_parser(
        "gradebook", help="merge the units' grades.csv into one gradebook (and Canvas / Moodle imports)",
        description="Merge the grades.csv files written by `dlcourse grade` into OUT/gradebook.csv: one row per "
                    "student with each unit's points and status and the overall percentage. A student missing from "
                    "a unit counts 0 there (status 'no submission'). With --roster and --lms, also write "
                    "OUT/canvas.csv and/or OUT/moodle.csv for the LMS's grade import. See course/instructors.md, "
                    "section Gradebook.")
    gb.add_argument("--out", required=True, type=Path, help="folder for gradebook.csv, report.txt and the exports")
    gb.add_argument("grade_dirs", nargs="+", metavar="GRADE_DIRS",
                    help="folders written by `dlcourse grade --out` (or their grades.csv files)")
    gb.add_argument("--roster", type=Path,
                    help="CSV with a 'submission' column and the LMS's id columns (e.g. Canvas's ID, SIS User ID, "
                         "SIS Login ID, Section; Moodle's Email address)")
    gb.add_argument("--lms", action="append", choices=["canvas", "moodle"], default=[],
                    help="write OUT/<lms>.csv for that system's grade import (needs --roster; repeat for both)")
    gb.add_argument("--column", action="append", default=[], metavar="UNIT=HEADER",
                    help="LMS column header of a unit's grade, e.g. --column '1=Unit 1 (87568490)' for an existing "
                         "Canvas assignment (default 'Unit N')")
    gb.add_argument("--points-from", type=Path,
                    help="instructor notebooks whose exercise cells carry {\"dlcourse\": {\"points\": P}} "
                         "(default: the course's units/ folder; exercises without it are worth 1 point)")


def _gradebook(args) -> int:
    from .grading.gradebook import gradebook

    columns = {}
    for spec in args.column:
        unit, sep, header = spec.partition("=")
        if not sep or not unit.strip().isdigit():
            print(f"gradebook failed: --column: expected UNIT=HEADER such as '1=Unit 1 (87568490)', got {spec!r}",
                  file=sys.stderr)
            return 2
        columns[int(unit)] = header
    try:
        report = gradebook(args.grade_dirs, args.out, roster=args.roster, points_from=args.points_from,
                           lms=args.lms, columns=columns)
    except ValueError as exc:
        print(f"gradebook failed: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line, file=sys.stderr if line.startswith(("ROSTER", "  - ")) else sys.stdout)
    print(f"gradebook in {report.gradebook}" + "".join(f", {k} import in {v}" for k, v in report.exports.items()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
