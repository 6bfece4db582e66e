r"""Citations and cross-references that read the same in JupyterLab and on the course site.

JupyterLab does not know MyST's roles: ``{cite}`hochreiter1997long` `` shows there as raw text. The notebooks
therefore cite with plain Markdown links, which both JupyterLab and the site (MyST) understand:

* a citation in running text reads
  ``[(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997long)``;
  several keys at once read ``([Polyak, 1964](…#polyak1964some); [Nesterov, 1983](…#nesterov1983method))``;
* an item of a notebook's reference list that already names its authors and year
  (``- Hochreiter and Schmidhuber (1997), the LSTM {cite}`hochreiter1997long`.``) becomes a link on those words:
  ``- [Hochreiter and Schmidhuber (1997)](…#hochreiter1997long), the LSTM.``;
* ``{doc}`/course/bibliography` `` becomes ``[References](../../course/bibliography.md)``, with the page's title.

The bibliography page, ``course/bibliography.md``, is generated from the ``.bib`` files listed in ``_config.yml``:
one entry per key, each carrying an anchor ``<a id="key"></a>``, so a link ``bibliography.md#key`` lands on its entry
in JupyterLab's Markdown preview and on the site.

Usage::

    python tools/cite.py --write [NOTEBOOK ...]   # convert the roles in place, regenerate the bibliography page
    python tools/cite.py --check                  # exit 1, listing each problem, if anything is left to convert

``tests/test_notebook_prose.py`` runs the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BIBLIOGRAPHY = ROOT / "course" / "bibliography.md"
BIBLIOGRAPHY_TITLE = "References"

#: Any MyST role written inline, e.g. {cite}`key`, {doc}`page`, {ref}`label`, {math}`x`, {cite:p}`key`.
ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w.+-]*(?::[\w.+-]+)*)\}`(?P<body>[^`]*)`")
#: A citation role alone.
CITE = re.compile(r"\{cite(?::(?P<kind>[a-z]+))?\}`(?P<keys>[^`]*)`")
#: An item of a reference list: "- Authors (1997), what they did {cite}`key`." — names and year first, one key;
#: the item starts a line or follows "; ", and may run over a line break.
REFERENCE_ITEM = re.compile(
    r"(?P<lead>^[ \t]*[-*][ \t]+|^[ \t]+|; )"
    r"(?P<who>[A-Z][^()\[\]`{};\n]*?(?:\n[ \t]*[^()\[\]`{};\n]*?)?)\s+\((?P<year>\d{4})\)"
    r"(?P<rest>[^`{}\[\];]*?)\s*\{cite\}`(?P<key>[^`,]+)`",
    re.MULTILINE,
)
#: A Markdown link to an entry of the bibliography page.
BIB_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<path>[^)#\s]*bibliography\.md)#(?P<key>[^)\s]+)\)")


class Entry(NamedTuple):
    """One reference: its key, authors' last names, year, the author-year label and the formatted reference."""

    key: str
    last_names: tuple[str, ...]
    year: str
    label: str
    reference: str


# --------------------------------------------------------------------------- the .bib files


def bib_files(root: Path = ROOT) -> list[Path]:
    """The ``.bib`` files the site uses, as listed under ``bibtex_bibfiles`` in ``_config.yml``."""
    config = (root / "_config.yml").read_text(encoding="utf-8")
    block = re.search(r"^bibtex_bibfiles:\n((?:\s+- .*\n)+)", config, re.MULTILINE)
    if block is None:
        raise ValueError("_config.yml: expected a bibtex_bibfiles list, found none")
    return [root / line.split("- ", 1)[1].strip() for line in block.group(1).splitlines()]


def _text(latex: str) -> str:
    """LaTeX to plain text: accents to Unicode, braces dropped, ``--`` to an en dash."""
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec)

    text = codecs.decode(latex, "ulatex")
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def _label(last_names: tuple[str, ...], year: str) -> str:
    if len(last_names) == 1:
        who = last_names[0]
    elif len(last_names) == 2:
        who = f"{last_names[0]} & {last_names[1]}"
    else:
        who = f"{last_names[0]} et al."
    return f"{who}, {year}"


def _reference(fields, persons, last_names: tuple[str, ...]) -> str:
    """An author-year reference in the style of the site: authors (year). Title. *Venue*, volume(number), pages."""
    authors = []
    for person, last in zip(persons, last_names):
        initials = " ".join(f"{_text(name)[0]}." for name in person.first_names + person.middle_names)
        authors.append(f"{last}, {initials}".rstrip(", "))
    if len(authors) > 1:
        who = ", ".join(authors[:-1]) + ", & " + authors[-1]
    else:
        who = authors[0] if authors else _text(fields.get("howpublished", ""))
    title = _text(fields["title"]).rstrip(".")
    venue = _text(fields.get("journal") or fields.get("booktitle") or fields.get("publisher")
                  or fields.get("institution") or fields.get("howpublished") or "")
    parts = [f"{who} ({fields['year']}). {title}."]
    if venue:
        where = f"*{venue}*"
        if fields.get("volume"):
            where += f", {fields['volume']}" + (f"({fields['number']})" if fields.get("number") else "")
        if fields.get("pages"):
            where += f", {_text(fields['pages'])}"
        parts.append(where + ".")
    if fields.get("eprint"):
        parts.append(f"arXiv:{fields['eprint']}.")
    return " ".join(parts)


def load_entries(files: list[Path] | None = None) -> dict[str, Entry]:
    """Every entry of the course's ``.bib`` files by key; equal labels get a, b, ... after the year."""
    from pybtex.database import parse_file

    entries: dict[str, Entry] = {}
    for path in files if files is not None else bib_files():
        for key, item in parse_file(str(path), bib_format="bibtex").entries.items():
            if key in entries:
                raise ValueError(f"{path.name}: key {key!r} is defined twice")
            persons = item.persons.get("author", [])
            last_names = tuple(_text(" ".join(p.prelast_names + p.last_names)) for p in persons)
            year = str(item.fields["year"])
            entries[key] = Entry(key, last_names, year, _label(last_names, year) if last_names else key,
                                 _reference(item.fields, persons, last_names))
    by_label: dict[str, list[str]] = {}
    for key, entry in entries.items():
        by_label.setdefault(entry.label, []).append(key)
    for keys in by_label.values():
        if len(keys) > 1:
            for suffix, key in zip("abcdefghij", sorted(keys)):
                e = entries[key]
                entries[key] = e._replace(year=e.year + suffix, label=_label(e.last_names, e.year + suffix))
    return entries


def render_bibliography(entries: dict[str, Entry]) -> str:
    """The Markdown of ``course/bibliography.md``: one paragraph per entry, sorted by author and year, each anchored."""
    lines = [
        "<!-- Generated by tools/cite.py from the .bib files in _config.yml; edit those, then run"
        " `python tools/cite.py --write`. -->",
        "",
        f"# {BIBLIOGRAPHY_TITLE}",
        "",
        "Every work the notebooks cite. A citation such as (Hochreiter & Schmidhuber, 1997) in a notebook links to its"
        " entry here.",
        "",
    ]
    for entry in sorted(entries.values(), key=lambda e: (e.last_names, e.year, e.key)):
        lines += [f'<a id="{entry.key}"></a>', f"{entry.reference}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- converting Markdown


def _relative(target: Path, source: Path) -> str:
    """The path of ``target`` relative to the folder of ``source``, with forward slashes."""
    import os

    return Path(os.path.relpath(target, source.parent)).as_posix()


def _title(page: Path) -> str:
    """The first ``# `` heading of a Markdown page or notebook."""
    if page.suffix == ".ipynb":
        import nbformat

        text = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = page.read_text(encoding="utf-8")
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"{page}: expected a '# Title' heading, found none")
    return match.group(1).strip()


def _doc_target(target: str, source: Path, root: Path) -> Path:
    base = root if target.startswith("/") else source.parent
    stem = (base / target.lstrip("/")).resolve()
    for suffix in (".md", ".ipynb"):
        if stem.with_suffix(suffix).exists():
            return stem.with_suffix(suffix)
    raise ValueError(f"{source}: {{doc}}`{target}` names no page (expected {stem}.md or .ipynb)")


def _cite_link(keys: list[str], kind: str | None, entries: dict[str, Entry], bib: str) -> str:
    for key in keys:
        if key not in entries:
            raise KeyError(f"citation key {key!r} is in no .bib file of _config.yml")
    if kind == "t":  # textual: Hochreiter & Schmidhuber (1997)
        return "; ".join(
            f"[{_label(entries[k].last_names, '').rstrip(', ')} ({entries[k].year})]({bib}#{k})" for k in keys
        )
    if len(keys) == 1:
        return f"[({entries[keys[0]].label})]({bib}#{keys[0]})"
    return "(" + "; ".join(f"[{entries[k].label}]({bib}#{k})" for k in keys) + ")"


def convert(markdown: str, source: Path, entries: dict[str, Entry], root: Path = ROOT) -> str:
    """``markdown`` (a cell or page at ``source``) with its ``{cite}`` and ``{doc}`` roles as Markdown links."""
    bib = _relative(root / "course" / "bibliography.md", source)

    def item(match: re.Match) -> str:
        key = match.group("key").strip()
        entry = entries.get(key)
        who = " ".join(match.group("who").split())
        if entry is None or not entry.last_names or entry.last_names[0] not in who \
                or not entry.year.startswith(match.group("year")):
            return match.group(0)  # not a "names (year)" item of this entry: cite it in the ordinary way
        return f"{match.group('lead')}[{match.group('who')} ({match.group('year')})]({bib}#{key}){match.group('rest')}"

    text, previous = markdown, None
    while text != previous:  # one item per "; " at a time
        previous, text = text, REFERENCE_ITEM.sub(item, text)
    text = CITE.sub(lambda m: _cite_link([k.strip() for k in m.group("keys").split(",")], m.group("kind"),
                                         entries, bib), text)

    def doc(match: re.Match) -> str:
        body = match.group("body")
        explicit = re.fullmatch(r"(?P<text>.+?)\s*<(?P<target>[^>]+)>", body)
        target = explicit.group("target") if explicit else body
        page = _doc_target(target.strip(), source, root)
        text_ = explicit.group("text") if explicit else _title(page)
        return f"[{text_}]({_relative(page, source)})"

    return re.sub(r"\{doc\}`(?P<body>[^`]*)`", doc, text)


# --------------------------------------------------------------------------- notebooks and checks


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "units").glob("*/*.ipynb"))


def roles_in(markdown: str) -> list[str]:
    """Every MyST role written in ``markdown`` outside code (``{cite}`key` `` and the like)."""
    prose = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    prose = re.sub(r"(?<!`)``[^`].*?``(?!`)", "", prose)  # literal ``{cite}`x` `` written as an example
    return [m.group(0) for m in ROLE.finditer(prose)]


def link_problems(markdown: str, entries: dict[str, Entry]) -> list[str]:
    """Citation links whose key is in no ``.bib`` file, or whose text names another work."""
    problems = []
    for match in BIB_LINK.finditer(markdown):
        key, text = match.group("key"), match.group("text")
        entry = entries.get(key)
        if entry is None:
            problems.append(f"link to unknown key {key!r}: {match.group(0)}")
        elif entry.last_names and (entry.last_names[0] not in text or entry.year[:4] not in text):
            problems.append(f"link text {text!r} does not name {entry.label!r} ({key})")
    return problems


def check(root: Path = ROOT) -> list[str]:
    """Everything :func:`main` ``--write`` would change or cannot fix, one line each."""
    import nbformat

    entries = load_entries(bib_files(root))
    problems = []
    for path in notebooks(root):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "markdown":
                continue
            where = f"{path.relative_to(root)} cell {index}"
            problems += [f"{where}: MyST role {role}" for role in roles_in(cell.source)]
            problems += [f"{where}: {p}" for p in link_problems(cell.source, entries)]
    for page in sorted((root / "course").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        problems += [f"{page.relative_to(root)}: {p}" for p in link_problems(text, entries)]
        # The site has no {bibliography} directive any more: a {cite} role would not resolve.
        problems += [f"{page.relative_to(root)}: MyST role {r}" for r in roles_in(text) if r.startswith("{cite")]
    if (root / "course" / "bibliography.md").read_text(encoding="utf-8") != render_bibliography(entries):
        problems.append("course/bibliography.md is not the one the .bib files give: run python tools/cite.py --write")
    return problems


def write(paths: list[Path], root: Path = ROOT) -> int:
    """Convert the roles of ``paths`` (notebooks or Markdown pages) in place; regenerate the bibliography page."""
    import nbformat

    entries = load_entries(bib_files(root))
    changed = 0
    for path in paths:
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            touched = False
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    new = convert(cell.source, path.resolve(), entries, root)
                    touched |= new != cell.source
                    cell.source = new
            if touched:
                nbformat.write(nb, path)
                changed += 1
        else:
            old = path.read_text(encoding="utf-8")
            new = convert(old, path.resolve(), entries, root)
            if new != old:
                path.write_text(new, encoding="utf-8")
                changed += 1
    (root / "course" / "bibliography.md").write_text(render_bibliography(entries), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="convert roles in place and regenerate the bibliography")
    mode.add_argument("--check", action="store_true", help="list what is left to convert; exit 1 if anything is")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks or Markdown pages (default: every notebook)")
    args = parser.parse_args(argv)
    if args.write:
        changed = write(args.paths or notebooks())
        print(f"converted roles in {changed} file(s); wrote {BIBLIOGRAPHY.relative_to(ROOT)}")
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
