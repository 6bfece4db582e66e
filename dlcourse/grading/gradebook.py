r"""The course's gradebook: ``python -m dlcourse gradebook --out DIR GRADE_DIRS...``.

Merges the per-unit ``grades.csv`` files that ``python -m dlcourse grade`` writes into one
``DIR/gradebook.csv``: one row per student (the submission name, matched across units after
Unicode NFC normalisation and trimming of spaces), each unit's points and status, and the
overall points, maximum and percentage. A student absent from a unit's ``grades.csv`` has
status ``no submission`` there and 0 of that unit's points count towards the percentage.

Points. Each exercise of ``grades.csv`` is scored from 0 to 1 (the share of test cases
passed). An exercise is worth 1 point unless its exercise cell in the instructor notebooks
carries the cell metadata ``{"dlcourse": {"points": 2}}``; the unit's points are then
:math:`\sum_i \text{score}_i \cdot \text{points}_i` out of :math:`\sum_i \text{points}_i`.

Roster and LMS exports. A roster is a CSV with a ``submission`` column (the submission
names, as in ``grades.csv``) and the learning-management system's own identifiers, in
columns named as in that system's gradebook export: Canvas's ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``; Moodle's ``Email address``, ``ID number``,
``Username`` (other columns are ignored, so an LMS export with a ``submission`` column added
works as it is). With ``lms=("canvas", "moodle")`` the gradebook also writes
``DIR/canvas.csv`` (``Student,ID,SIS User ID,SIS Login ID,Section,<one column per unit>``)
and ``DIR/moodle.csv`` (one identifier column and one column per unit), in roster order.
Mismatches between the roster and the graded submissions are listed in the returned
:class:`GradebookReport` and in ``DIR/report.txt``.

The input is read by column name: ``submission``, ``status``, ``exercise N.k`` (one per
exercise) and ``total`` are required, any other column is ignored.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POINTS_SOURCE = ROOT / "units"
EXERCISE_COLUMN = re.compile(r"^\s*exercise\s+(\d+)\.(\d+)\s*$", re.IGNORECASE)
EXERCISE_HEADER = re.compile(r"^#\s*Exercise\s+(\d+)\.(\d+)\s*:", re.MULTILINE)
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d+)\.(\d+)["']""")
NO_SUBMISSION = "no submission"
NORMAL_STATUSES = ("graded", "not attempted")   # any other status (crashed, timeout, ...) is listed in the report
LMS = ("canvas", "moodle")
CANVAS_ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_ID_COLUMNS = ("Email address", "ID number", "Username")   # in order of preference
TOTAL_TOLERANCE = 1e-3   # grades.csv rounds each score to 4 decimals


def name_key(name: str) -> str:
    """How submission names are matched: NFC-normalised (macOS writes file names decomposed), spaces trimmed."""
    return unicodedata.normalize("NFC", name).strip()


def _id_sort(ex_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in ex_id.split("."))


@dataclass
class UnitRow:
    name: str
    status: str
    scores: dict            # exercise id -> score from 0 to 1
    line: int               # line in the CSV file, for messages


@dataclass
class UnitGrades:
    """One ``grades.csv``: the unit, its exercises (in column order) and one row per submission (by name key)."""
    unit: int
    path: Path
    exercises: list
    rows: dict = field(default_factory=dict)


@dataclass
class GradebookReport:
    """What :func:`gradebook` wrote and what did not match."""
    gradebook: Path
    exports: dict = field(default_factory=dict)             # lms -> path
    units: list = field(default_factory=list)               # unit numbers, ascending
    max_points: dict = field(default_factory=dict)          # unit -> points available
    students: int = 0
    missing: dict = field(default_factory=dict)             # unit -> names absent from that unit's grades.csv
    unmatched_submissions: list = field(default_factory=list)   # (name, [close roster names]) not in the roster
    roster_without_grades: list = field(default_factory=list)   # roster names with no row in any grades.csv
    points: dict = field(default_factory=dict)              # exercise id -> points, where not 1
    attention: dict = field(default_factory=dict)           # unit -> {status: [names]} not graded normally

    @property
    def ok(self) -> bool:
        """False when a graded submission has no roster entry (its grade is missing from the LMS exports)."""
        return not self.unmatched_submissions

    def lines(self) -> list[str]:
        out = [f"{self.students} student(s), units {', '.join(map(str, self.units))} "
               f"(points available: {', '.join(f'Unit {u}: {m:g}' for u, m in self.max_points.items())})"]
        if self.points:
            out.append("exercise points other than 1: " + ", ".join(f"{k}: {v:g}" for k, v in self.points.items()))
        for unit, by_status in self.attention.items():
            listed = "; ".join(f"{status}: {', '.join(names)}" for status, names in by_status.items())
            out.append(f"Unit {unit}: {sum(map(len, by_status.values()))} submission(s) were not graded normally "
                       f"and count what their row says (look at their feedback before exporting): {listed}")
        for unit, names in self.missing.items():
            if names:
                out.append(f"Unit {unit}: {len(names)} student(s) have no row in its grades.csv (status "
                           f"'{NO_SUBMISSION}', 0 points): {', '.join(names)}")
        if self.unmatched_submissions:
            out.append(f"ROSTER MISMATCH: {len(self.unmatched_submissions)} graded submission(s) have no roster row, "
                       "so their grades are NOT in the LMS export(s); add them to the roster (column 'submission'):")
            for name, close in self.unmatched_submissions:
                typo = f" (a typo? the roster has {' or '.join(map(repr, close))} without a submission)"
                out.append(f"  - {name!r}" + (typo if close else ""))
        if self.roster_without_grades:
            out.append(f"{len(self.roster_without_grades)} roster student(s) have no graded submission in any unit "
                       "(their cells in the LMS export(s) are left empty): "
                       + ", ".join(map(repr, self.roster_without_grades)))
        return out


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _resolve_grades_csv(raw) -> Path:
    p = Path(raw)
    if p.is_dir():
        p = p / "grades.csv"
        if not p.is_file():
            raise ValueError(f"grade_dirs: expected a folder holding grades.csv (written by `python -m dlcourse "
                             f"grade --out DIR`), got {raw} (it has no grades.csv)")
    elif not p.is_file():
        raise ValueError(f"grade_dirs: expected a folder holding grades.csv or a grades.csv file, got {raw} "
                         "(no such file or folder)")
    return p


def _read_csv(path: Path, argument: str) -> tuple[list[str], list[tuple[int, dict]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{argument}: expected a UTF-8 CSV file, got {path} ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise ValueError(f"{argument}: expected a CSV file with a header row, got {path} (empty)")
    header = [h.strip() for h in header]
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise ValueError(f"{argument}: {path} line {line} has {len(cells)} cells but the header has "
                             f"{len(header)} columns")
        rows.append((line, dict(zip(header, cells + [""] * (len(header) - len(cells))))))
    return header, rows


def _column(header: list[str], wanted: str) -> str | None:
    """The header spelled as in the file, matching ``wanted`` case-insensitively."""
    return next((h for h in header if h.lower() == wanted.lower()), None)


def read_grades(path) -> UnitGrades:
    """Read one ``grades.csv`` (or the folder holding it), by column name."""
    path = _resolve_grades_csv(path)
    header, rows = _read_csv(path, "grade_dirs")
    columns = {}
    for wanted in ("submission", "status", "total"):
        columns[wanted] = _column(header, wanted)
        if columns[wanted] is None:
            raise ValueError(f"grade_dirs: {path} must have a '{wanted}' column (as `dlcourse grade` writes), got "
                             f"columns {header}")
    exercises = {f"{m[1]}.{m[2]}": h for h in header if (m := EXERCISE_COLUMN.match(h))}
    if not exercises:
        raise ValueError(f"grade_dirs: {path} must have 'exercise N.k' columns, got columns {header}")
    units = sorted({int(e.split(".")[0]) for e in exercises})
    if len(units) != 1:
        raise ValueError(f"grade_dirs: {path} must hold the exercises of one unit, got exercises of units {units}")
    grades = UnitGrades(units[0], path, list(exercises))
    for line, cells in rows:
        name = cells[columns["submission"]]
        key = name_key(name)
        if not key:
            raise ValueError(f"grade_dirs: {path} line {line} has an empty 'submission' cell")
        if key in grades.rows:
            raise ValueError(f"grade_dirs: {path} has two rows for submission {name!r} (lines "
                             f"{grades.rows[key].line} and {line})")
        scores = {}
        for ex_id, col in exercises.items():
            scores[ex_id] = _number(cells[col], f"{path} line {line} ({name}), column '{col}'", 0.0, 1.0)
        total = _number(cells[columns["total"]], f"{path} line {line} ({name}), column 'total'", 0.0, math.inf)
        if abs(sum(scores.values()) - total) > TOTAL_TOLERANCE * max(1, len(scores)):
            raise ValueError(f"grade_dirs: {path} line {line} ({name}): 'total' is {total:g} but the exercise scores "
                             f"add up to {sum(scores.values()):g}; was the file edited by hand? Fix one of them")
        grades.rows[key] = UnitRow(name.strip(), cells[columns["status"]].strip(), scores, line)
    return grades


def _number(text: str, where: str, low: float, high: float) -> float:
    if not text.strip():
        return 0.0                          # no score (a submission that was not graded): 0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (low <= value <= high):
        span = f"from {low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
        raise ValueError(f"grade_dirs: {where}: expected a number {span}, got {text!r}")
    return value


def read_points(source) -> dict:
    """Exercise id -> points, from the ``{"dlcourse": {"points": p}}`` metadata of exercise cells under ``source``.

    ``source`` is a notebook or a folder of them. An exercise cell is a code cell starting with
    ``# Exercise N.k: name`` (or, without that line, the code cell just before ``check("N.k", ...)``).
    Exercises without the metadata are worth 1 point and are not listed.
    """
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                       and "_build" not in p.parts)
    elif source.is_file():
        paths = [source]
    else:
        raise ValueError(f"points_from: expected a notebook or a folder of notebooks, got {source} "
                         "(no such file or folder)")
    points, where = {}, {}
    for path in paths:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"points_from: {path} is not a readable notebook ({type(exc).__name__}: {exc})") from None
        sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                   for c in cells]
        for k, cell in enumerate(cells):
            meta = (cell.get("metadata") or {}).get("dlcourse")
            if not isinstance(meta, dict) or "points" not in meta:
                continue
            found = EXERCISE_HEADER.search(sources[k]) or (CHECK_CALL.search(sources[k + 1])
                                                           if k + 1 < len(sources) else None)
            here = f"{path.name}, code cell {k + 1}"
            if found is None:
                raise ValueError(f"points_from: {here} has dlcourse points metadata but is not an exercise cell (no "
                                 "'# Exercise N.k:' line, and the next cell does not call check(\"N.k\", ...))")
            value = meta["points"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"points_from: {here}: points must be a positive number, got {value!r}")
            ex_id = f"{found[1]}.{found[2]}"
            if ex_id in points and points[ex_id] != value:
                raise ValueError(f"points_from: exercise {ex_id} has {points[ex_id]:g} points in {where[ex_id]} but "
                                 f"{value:g} in {here}")
            points[ex_id], where[ex_id] = float(value), here
    return {k: v for k, v in sorted(points.items(), key=lambda kv: _id_sort(kv[0])) if v != 1}


@dataclass
class Roster:
    path: Path
    header: list
    rows: list              # (submission name or "", {column: value}) in file order
    by_key: dict            # name key -> index in rows


def read_roster(path) -> Roster:
    """A CSV with a ``submission`` column and the LMS's identifier columns (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"roster: expected a CSV file with a 'submission' column, got {path} (no such file)")
    header, rows = _read_csv(path, "roster")
    col = _column(header, "submission")
    if col is None:
        raise ValueError(f"roster: {path} must have a 'submission' column (the submission names of grades.csv), "
                         f"got columns {header}")
    roster = Roster(path, header, [], {})
    ids_seen = {}
    student = _column(header, "Student")
    for line, cells in rows:
        key = name_key(cells[col])
        if student and cells[student].strip() == "Points Possible":
            continue                        # the second row of Canvas's own gradebook export, not a student
        if key and key in roster.by_key:
            raise ValueError(f"roster: {path} has two rows for submission {key!r} (lines "
                             f"{roster.rows[roster.by_key[key]][2]} and {line})")
        for id_col in ("ID", "SIS User ID", "Email address", "ID number", "Username"):
            real = _column(header, id_col)
            value = cells.get(real, "").strip() if real else ""
            if value:
                if (id_col, value) in ids_seen:
                    raise ValueError(f"roster: {path} gives {id_col} {value!r} to two rows (lines "
                                     f"{ids_seen[id_col, value]} and {line}); one student, one row")
                ids_seen[id_col, value] = line
        if key:
            roster.by_key[key] = len(roster.rows)
        roster.rows.append((key, cells, line))
    return roster


# ---------------------------------------------------------------------------------------------------------------
# Merging and writing


def merge_units(tables: list[UnitGrades]) -> dict:
    """Unit -> UnitGrades, merging several files of one unit when their submissions do not overlap."""
    merged = {}
    for t in tables:
        if t.unit not in merged:
            merged[t.unit] = UnitGrades(t.unit, t.path, list(t.exercises), dict(t.rows))
            continue
        m = merged[t.unit]
        if set(m.exercises) != set(t.exercises):
            raise ValueError(f"grade_dirs: {m.path} and {t.path} both hold Unit {t.unit} but with different exercises "
                             f"({', '.join(m.exercises)} vs {', '.join(t.exercises)}); regrade them together")
        both = sorted(set(m.rows) & set(t.rows))
        if both:
            raise ValueError(f"grade_dirs: {m.path} and {t.path} both grade Unit {t.unit} for {both[0]!r}"
                             + (f" and {len(both) - 1} more" if len(both) > 1 else "")
                             + "; give each student's work once (`grade --out` into one folder updates its rows)")
        m.rows |= t.rows
    return dict(sorted(merged.items()))


def _fmt(x: float, digits: int = 4) -> str:
    """At most ``digits`` decimals, no trailing zeros, never an exponent: 1234.5678, 2.5, 3."""
    text = f"{round(x, digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def gradebook(grade_dirs, out, roster=None, points_from=None, lms=(), columns=None) -> GradebookReport:
    """Merge per-unit grades into ``out/gradebook.csv`` (and LMS exports); see the module docstring.

    Parameters
    ----------
    grade_dirs : list of path
        Folders written by ``python -m dlcourse grade --out`` (or their ``grades.csv`` files).
    out : path
        Folder for ``gradebook.csv``, ``report.txt`` and the exports (created if needed).
    roster : path, optional
        CSV mapping submission names (column ``submission``) to the LMS's identifiers.
    points_from : path, optional
        Instructor notebooks whose exercise cells may carry ``{"dlcourse": {"points": p}}``
        (default: the course's ``units/`` folder when it exists; otherwise every exercise is worth 1).
    lms : sequence of {"canvas", "moodle"}
        Exports to write; each needs ``roster``.
    columns : dict of int to str, optional
        The LMS column header of a unit's grade (default ``"Unit N"``), e.g. ``{1: "Unit 1 (87568490)"}`` to fill
        an existing Canvas assignment.
    """
    if isinstance(grade_dirs, (str, Path)) or not grade_dirs:
        raise ValueError(f"grade_dirs: expected a non-empty list of folders holding grades.csv, got {grade_dirs!r}")
    lms = tuple(lms or ())
    for name in lms:
        if name not in LMS:
            raise ValueError(f"lms: expected one of {', '.join(LMS)}, got {name!r}")
    if lms and roster is None:
        raise ValueError(f"lms: the {', '.join(lms)} export needs a roster (the LMS identifies students by its own "
                         "ids, not by submission names), got roster=None")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: expected a folder (created if missing), got {out} (a file)")
    units = merge_units([read_grades(d) for d in grade_dirs])
    columns = dict(columns or {})
    for unit, header in columns.items():
        if unit not in units:
            raise ValueError(f"columns: unit {unit} is not among the graded units {list(units)}")
        if not isinstance(header, str) or not header.strip():
            raise ValueError(f"columns: the header of unit {unit} must be a non-empty string, got {header!r}")
    if points_from is None:
        points = read_points(DEFAULT_POINTS_SOURCE) if DEFAULT_POINTS_SOURCE.is_dir() else {}
    else:
        points = read_points(points_from)
    ros = read_roster(roster) if roster is not None else None
    for name in lms:
        _export_columns(name, ros)

    def worth(ex_id):
        return points.get(ex_id, 1.0)

    max_points = {u: sum(worth(e) for e in g.exercises) for u, g in units.items()}
    names = {}                                                  # key -> display name (first seen)
    for g in units.values():
        for key, r in g.rows.items():
            names.setdefault(key, r.name)
    students = sorted(names, key=lambda k: (k.casefold(), k))
    report = GradebookReport(out / "gradebook.csv", units=list(units), max_points=max_points,
                             students=len(students), points={k: v for k, v in points.items()
                                                             if any(k in g.exercises for g in units.values())})
    unit_points = {}                                            # (key, unit) -> points, for present rows
    for u, g in units.items():
        report.missing[u] = [names[k] for k in students if k not in g.rows]
        for key, r in g.rows.items():
            unit_points[key, u] = sum(s * worth(e) for e, s in r.scores.items())
            if r.status not in NORMAL_STATUSES:
                report.attention.setdefault(u, {}).setdefault(r.status or "(empty)", []).append(r.name)
    total_max = sum(max_points.values())

    out.mkdir(parents=True, exist_ok=True)
    with report.gradebook.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", *[c for u in units for c in (f"unit {u}", f"unit {u} status")],
                    "points", "max", "percent"])
        for key in students:
            cells, total = [names[key]], 0.0
            for u, g in units.items():
                if key in g.rows:
                    total += unit_points[key, u]
                    cells += [_fmt(unit_points[key, u]), g.rows[key].status]
                else:
                    cells += ["", NO_SUBMISSION]
            w.writerow(cells + [_fmt(total), _fmt(total_max), _fmt(100 * total / total_max, 2)])

    if ros is not None:
        unclaimed = [k for k in ros.by_key if k not in names]    # roster names that no grades.csv uses
        report.unmatched_submissions = [(names[k], difflib.get_close_matches(k, unclaimed, n=2, cutoff=0.5))
                                        for k in students if k not in ros.by_key]
        report.roster_without_grades = [ros.rows[i][0] for k, i in ros.by_key.items() if k not in names]
        report.roster_without_grades += [f"(line {line}, no submission name)" for key, _, line in ros.rows if not key]
    headers = {u: columns.get(u, f"Unit {u}").strip() for u in units}
    for name in lms:
        report.exports[name] = _write_export(name, out, ros, units, unit_points, headers)
    (out / "report.txt").write_text("\n".join(report.lines()) + "\n", encoding="utf-8")
    return report


def _export_columns(name: str, roster: Roster) -> list[str]:
    """The identifier columns of an export, checked against the roster before anything is written."""
    if name == "canvas":
        present = [c for c in CANVAS_ID_COLUMNS if _column(roster.header, c)]
        if not {"ID", "SIS User ID", "SIS Login ID"} & set(present):
            raise ValueError(f"roster: the Canvas export needs a column 'ID', 'SIS User ID' or 'SIS Login ID' "
                             f"(as in Canvas's gradebook export) in {roster.path}, got columns {roster.header}")
        id_columns = list(CANVAS_ID_COLUMNS)
    else:
        present = [c for c in MOODLE_ID_COLUMNS if _column(roster.header, c)]
        if not present:
            raise ValueError(f"roster: the Moodle export needs a column {', '.join(map(repr, MOODLE_ID_COLUMNS))} "
                             f"(as in Moodle's grade export) in {roster.path}, got columns {roster.header}")
        id_columns = present[:1]
    return id_columns


def _write_export(name: str, out: Path, roster: Roster, units: dict, unit_points: dict, headers: dict) -> Path:
    id_columns = _export_columns(name, roster)
    path = out / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(id_columns + [headers[u] for u in units])
        for key, cells, _ in roster.rows:
            ids = [cells.get(_column(roster.header, c), "").strip() if _column(roster.header, c) else ""
                   for c in id_columns]
            grades = [_fmt(unit_points[key, u]) if (key, u) in unit_points else "" for u in units]
            w.writerow(ids + grades)
    return path
