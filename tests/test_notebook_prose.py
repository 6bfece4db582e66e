"""The notebooks' prose reads the same in JupyterLab and on the site, and names no document the student lacks.

* JupyterLab renders Markdown without MyST: a role such as {cite}`key` or a directive fence would show as raw
  text. Every markdown cell is rendered with markdown-it (CommonMark, as JupyterLab's renderer) and searched for
  the marks such syntax leaves.
* Citations are Markdown links to ``course/bibliography.md#key`` (``tools/cite.py``): every key is in a ``.bib``
  file of ``_config.yml``, every link names the work's first author and year, every relative link reaches a file.
* The course stands on its own: no cell — markdown, code, or a code cell's saved output — mentions the lecture
  notes the course was written from (their errata are listed in the instructor guide only).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cite  # noqa: E402
import html_anchors  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

NOTEBOOKS = cite.notebooks(ROOT)
ENTRIES = cite.load_entries(cite.bib_files(ROOT))
RENDER = MarkdownIt("commonmark").enable("table")

#: What MyST syntax looks like once rendered by a plain CommonMark renderer.
MYST_LEFTOVERS = {
    "role": re.compile(r"\{[A-Za-z][\w:.+-]*\}<code>"),  # {cite}`key` -> {cite}<code>key</code>
    "directive": re.compile(r'class="language-\{'),  # ```{note} -> <code class="language-{note}">
    "target": re.compile(r"^\([\w:.-]+\)=$", re.MULTILINE),  # (label)=
    "colon fence": re.compile(r"^:::", re.MULTILINE),
}
#: A mention of the source notes. "Note that" and "footnote" do not match; "notes" as a word does.
NOTES = re.compile(r"\blecture[\s-]+notes?\b|\bnotes\b|\bdla_notes\b", re.IGNORECASE)
#: (notebook name, the exact matched text) pairs where "notes" means something else. Keep it empty if you can.
NOTES_ALLOWED: set[tuple[str, str]] = set()
LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")


def _ids(path: Path) -> list[str]:
    return [path.relative_to(ROOT / "units").as_posix()]


def _markdown_cells(path: Path):
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown":
            yield index, cell.source


def _rendered_text(markdown: str) -> str:
    """The HTML JupyterLab would show, with $...$ math left as text."""
    return html.unescape(RENDER.render(markdown))


def _outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for mime in ("text/plain", "text/markdown", "text/html"):
            parts.append("".join(output.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 20, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: _ids(p)[0])
def test_no_myst_syntax_shows_in_jupyterlab(path):
    found = []
    for index, source in _markdown_cells(path):
        rendered = _rendered_text(source)
        for kind, pattern in MYST_LEFTOVERS.items():
            found += [f"cell {index}: {kind} {m.group(0)!r}" for m in pattern.finditer(rendered)]
        found += [f"cell {index}: role {role}" for role in cite.roles_in(source)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: _ids(p)[0])
def test_citation_links_name_a_known_work(path):
    problems = []
    for index, source in _markdown_cells(path):
        problems += [f"cell {index}: {p}" for p in cite.link_problems(source, ENTRIES)]
        for match in cite.BIB_LINK.finditer(source):
            if (path.parent / match.group("path")).resolve() != ROOT / "course" / "bibliography.md":
                problems.append(f"cell {index}: {match.group(0)} does not reach course/bibliography.md")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: _ids(p)[0])
def test_relative_links_reach_a_file(path):
    broken = []
    for index, source in _markdown_cells(path):
        prose = re.sub(r"```.*?```", "", source, flags=re.DOTALL)
        for match in LINK.finditer(prose):
            target = match.group("target")
            if re.match(r"[a-z][\w+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor in the same notebook
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"cell {index}: {match.group(0)}")
    assert not broken, "\n".join(broken)


MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$])\$([^$\n]+?)\$", re.DOTALL)


def _unbalanced(tex: str) -> bool:
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return True
    return depth != 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: _ids(p)[0])
def test_math_has_balanced_braces(path):
    """A missing brace makes MathJax show the raw TeX (the site test would catch it, minutes later)."""
    bad = []
    for index, source in _markdown_cells(path):
        prose = re.sub(r"```.*?```|`[^`]*`", "", source, flags=re.DOTALL)
        for match in MATH.finditer(prose):
            tex = next(g for g in match.groups() if g is not None)
            if _unbalanced(tex):
                bad.append(f"cell {index}: {tex.strip()[:80]}")
    assert not bad, "\n".join(bad)


def test_the_brace_check_catches_a_missing_brace():
    assert _unbalanced(r"\frac{q \cdot k_j}{\sqrt{d}") and not _unbalanced(r"\frac{a}{\sqrt{d}} \{x\}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: _ids(p)[0])
def test_no_cell_mentions_the_lecture_notes(path):
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for where, text in (("source", cell.source), ("output", _outputs_text(cell))):
            for match in NOTES.finditer(text):
                if (path.name, match.group(0)) in NOTES_ALLOWED:
                    continue
                line = text[text.rfind("\n", 0, match.start()) + 1:text.find("\n", match.end()) % (len(text) + 1)]
                found.append(f"cell {index} ({cell.cell_type} {where}): {line.strip()[:120]}")
    assert not found, "the student has no lecture notes; teach the slip as a common one:\n" + "\n".join(found)


def test_the_notes_are_not_in_the_bibliography():
    assert not [key for key, entry in ENTRIES.items() if not entry.last_names], "every reference has authors"
    assert "dla_notes" not in ENTRIES


def test_bibliography_page_is_generated_from_the_bib_files():
    assert cite.check(ROOT) == []
    page = (ROOT / "course" / "bibliography.md").read_text(encoding="utf-8")
    for key in ENTRIES:
        assert page.count(f'<a id="{key}"></a>') == 1, key


def test_every_bib_entry_is_cited_somewhere():
    text = "\n".join(source for path in NOTEBOOKS for _, source in _markdown_cells(path))
    cited = {m.group("key") for m in cite.BIB_LINK.finditer(text)}
    assert set(ENTRIES) - cited == set()


# --------------------------------------------------------------------------- the tool itself

BIB = ROOT / "course" / "bibliography.md"
NOTEBOOK = ROOT / "units" / "05-cnn-rnn" / "5.5-lstm-and-gru.ipynb"


@pytest.mark.parametrize("markdown, expected", [
    ("gates {cite}`hochreiter1997long`.",
     "gates [(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997long)."),
    ("momentum {cite}`polyak1964some,nesterov1983method`",
     "momentum ([Polyak, 1964](../../course/bibliography.md#polyak1964some); "
     "[Nesterov, 1983](../../course/bibliography.md#nesterov1983method))"),
    ("{cite:t}`kingma2015adam` showed", "[Kingma & Ba (2015)](../../course/bibliography.md#kingma2015adam) showed"),
    ("- Cho et al. (2014), the GRU {cite}`cho2014learning`.",
     "- [Cho et al. (2014)](../../course/bibliography.md#cho2014learning), the GRU."),
    ("- Elman (1990), SRNs {cite}`elman1990finding`; Werbos (1990), BPTT\n  {cite}`werbos1990backpropagation`.",
     "- [Elman (1990)](../../course/bibliography.md#elman1990finding), SRNs; "
     "[Werbos (1990)](../../course/bibliography.md#werbos1990backpropagation), BPTT."),
    ("- Somebody (1997), a misattributed item {cite}`hochreiter1997long`.",  # names do not match: cite normally
     "- Somebody (1997), a misattributed item "
     "[(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997long)."),
    ("All references: {doc}`/course/bibliography`.", "All references: [References](../../course/bibliography.md)."),
    ("see {doc}`the setup page <../../course/setup>`", "see [the setup page](../../course/setup.md)"),
    ("no roles here, `{cite}` in code stays", "no roles here, `{cite}` in code stays"),
])
def test_convert(markdown, expected):
    assert cite.convert(markdown, NOTEBOOK, ENTRIES, ROOT) == expected


def test_convert_names_an_unknown_key():
    with pytest.raises(KeyError, match="no_such_key"):
        cite.convert("{cite}`no_such_key`", NOTEBOOK, ENTRIES, ROOT)


def test_convert_names_a_missing_page():
    with pytest.raises(ValueError, match="no_such_page"):
        cite.convert("{doc}`/course/no_such_page`", NOTEBOOK, ENTRIES, ROOT)


def test_link_problems_catch_a_wrong_key_and_a_wrong_text():
    wrong_key = "[(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997lstm)"
    wrong_text = "[(Cho et al., 2014)](../../course/bibliography.md#hochreiter1997long)"
    right = "[(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997long)"
    assert "hochreiter1997lstm" in cite.link_problems(wrong_key, ENTRIES)[0]
    assert "does not name" in cite.link_problems(wrong_text, ENTRIES)[0]
    assert cite.link_problems(right, ENTRIES) == []


def test_roles_in_finds_roles_but_not_code():
    text = "a {ref}`label` and {math}`x^2`, but ``{cite}`k` `` is code\n```\n{doc}`page`\n```"
    assert cite.roles_in(text) == ["{ref}`label`", "{math}`x^2`"]


def test_labels_are_author_year_and_unique():
    assert ENTRIES["hochreiter1997long"].label == "Hochreiter & Schmidhuber, 1997"
    assert ENTRIES["rosenblatt1958perceptron"].label == "Rosenblatt, 1958"
    assert ENTRIES["rumelhart1986learning"].label == "Rumelhart et al., 1986"
    labels = [e.label for e in ENTRIES.values()]
    assert len(labels) == len(set(labels))


def test_bib_files_need_a_list_in_the_config(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    with pytest.raises(ValueError, match="bibtex_bibfiles"):
        cite.bib_files(tmp_path)


def test_html_anchors_become_myst_slugs():
    from docutils import nodes

    doctree = nodes.section()
    doctree += nodes.raw("", '<a id="hochreiter1997long"></a>', format="html")
    doctree += nodes.raw("", '<a id="rumelhart1986learning">', format="html")  # inline HTML: one tag per node
    doctree += nodes.raw("", "</a>", format="html")
    doctree += nodes.raw("", '<a id="not-html"></a>', format="latex")
    env = SimpleNamespace(docname="course/bibliography", metadata={"course/bibliography": {}})
    html_anchors.register_anchors(SimpleNamespace(env=env), doctree)
    slugs = env.metadata["course/bibliography"]["myst_slugs"]
    assert slugs == {key: (None, key, key) for key in ("hochreiter1997long", "rumelhart1986learning")}


# --------------------------------------------------------------------------- the built site, when there is one

SITE = ROOT / "_build" / "html"


@pytest.mark.skipif(not (SITE / "course" / "bibliography.html").exists(), reason="the site is not built (make book)")
def test_built_citation_links_land_on_their_entry():
    bibliography = (SITE / "course" / "bibliography.html").read_text(encoding="utf-8")
    if "tools/cite.py" not in bibliography and 'id="hochreiter1997long"' not in bibliography:
        pytest.skip("the built site predates the generated bibliography: rebuild it (make book)")
    ids = set(re.findall(r'\bid="([^"]+)"', bibliography))
    links = []
    for page in sorted((SITE / "units").rglob("*.html")):
        links += [(page, key) for key in re.findall(r'href="[^"]*bibliography\.html#([^"]+)"', page.read_text("utf-8"))]
    assert len(links) >= len(ENTRIES)
    assert not [(p.name, key) for p, key in links if key not in ids]


def test_check_finds_what_write_then_fixes(tmp_path):
    """End to end on a tiny course: a role in a notebook and a stale bibliography are reported, then converted."""
    (tmp_path / "_config.yml").write_text("bibtex_bibfiles:\n  - course/refs.bib\n")
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "refs.bib").write_text(
        "@article{elman1990finding,\n  author = {Elman, Jeffrey L.},\n  title = {Finding structure in time},\n"
        "  journal = {Cognitive Science},\n  volume = {14},\n  number = {2},\n  pages = {179--211},\n"
        "  year = {1990}\n}\n")
    (tmp_path / "course" / "bibliography.md").write_text("# References\n")
    (tmp_path / "course" / "intro.md").write_text("# Welcome\n\nSee {doc}`bibliography`; {cite}`elman1990finding`.\n")
    notebook = tmp_path / "units" / "01-x" / "1.1-x.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 1.1 X\n\nRecurrence {cite}`elman1990finding`. See {doc}`/course/intro`."),
        nbformat.v4.new_code_cell("x = '{cite}`not-prose`'"),
    ]), notebook)

    problems = cite.check(tmp_path)
    assert any("1.1-x.ipynb cell 0: MyST role {cite}`elman1990finding`" in p for p in problems)
    assert any("1.1-x.ipynb cell 0: MyST role {doc}`/course/intro`" in p for p in problems)
    assert any("intro.md: MyST role {cite}" in p for p in problems)
    assert any("bibliography.md is not the one" in p for p in problems)
    assert not any("cell 1" in p for p in problems)  # code is not prose

    cite.write([notebook, tmp_path / "course" / "intro.md"], tmp_path)
    assert cite.check(tmp_path) == []
    cell = nbformat.read(notebook, as_version=4).cells[0].source
    assert cell == ("# 1.1 X\n\nRecurrence [(Elman, 1990)](../../course/bibliography.md#elman1990finding). "
                    "See [Welcome](../../course/intro.md).")
    assert (tmp_path / "course" / "intro.md").read_text() == (
        "# Welcome\n\nSee [References](bibliography.md); [(Elman, 1990)](bibliography.md#elman1990finding).\n")
    page = (tmp_path / "course" / "bibliography.md").read_text()
    assert ('<a id="elman1990finding"></a>\n'
            "Elman, J. L. (1990). Finding structure in time. *Cognitive Science*, 14(2), 179–211.") in page
