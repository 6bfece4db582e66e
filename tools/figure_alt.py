"""Sphinx extension: alt text for every figure of the course site.

A notebook's image output has no alt text of its own, and Sphinx then writes the file name
(``alt="../../_images/3f2a….png"``), which a screen reader reads out as noise. This extension fills in a
description from the code cell that drew the figure:

* a widget (a call to ``make_<name>(...)``): "Interactive figure: <name> (first text argument), shown in its
  default state; run the notebook in JupyterLab to move its controls";
* a matplotlib figure: its titles, axis labels and legend labels, as found in the cell's source;
* otherwise: the call that produced it (``draw(f)``), or the section the figure belongs to.

An alt text written by the author always wins: in the cell's metadata, ``{"mystnb": {"image": {"alt": "..."}}}``.
A Markdown or reST image without alt text is reported as a warning (``make book`` treats warnings as errors).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

TITLE_CALLS = {"set_title", "suptitle", "title"}
XLABEL_CALLS = {"set_xlabel", "xlabel"}
YLABEL_CALLS = {"set_ylabel", "ylabel"}
MAX_ITEMS = 5


def _text(node: ast.AST) -> str | None:
    """The text of a string literal or f-string (formatted parts shown as '…')."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "…" for v in node.values]
        return "".join(str(p) for p in parts)
    return None


def _clean(text: str) -> str:
    text = re.sub(r"\$([^$]*)\$", r"\1", text)              # drop TeX dollars
    text = text.replace("\\", "").replace("\n", " ")
    return re.sub(r"\s+", " ", text).strip(" ,;")


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen[:MAX_ITEMS]


def _figure_kind(plain: str) -> str:
    """'Figure with 3 panels' from matplotlib's text form '<Figure size 720x216 with 3 Axes>'."""
    m = re.search(r"with (\d+) Axes", plain)
    return f"Figure with {m.group(1)} panels" if m and m.group(1) != "1" else "Figure"


def describe(source: str, section: str = "", plain: str = "", widget: bool = False) -> str:
    """An alt text for the figure drawn by a code cell with this source.

    ``plain`` is the output's text/plain form; ``widget`` says whether the output is an ipywidgets view.
    """
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = ast.parse("")
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset))
    where = f" in the section “{section}”" if section else ""
    if widget:
        # A widget demo: make_<name>(...), else the class named in its text form ("GraphExplorer: ...").
        maker = next((c for c in reversed(calls) if _call_name(c).startswith("make_")), None)
        if maker is not None:
            what = _call_name(maker)[len("make_"):].replace("_", " ")
            first = next((t for t in map(_text, maker.args) if t), None)
            what += f" ({_clean(first)})" if first else ""
        else:
            cls = plain.split(":")[0].strip()
            what = re.sub(r"(?<!^)(?=[A-Z])", " ", cls).lower() if cls.isidentifier() else "widget"
        return (f"Interactive figure: {what}, shown in its default state; "
                "run the notebook in JupyterLab to move its controls")
    titles, xlabels, ylabels, labels = [], [], [], []
    for call in calls:
        name = _call_name(call)
        first = _text(call.args[0]) if call.args else None
        if name in TITLE_CALLS and first:
            titles.append(_clean(first))
        elif name in XLABEL_CALLS and first:
            xlabels.append(_clean(first))
        elif name in YLABEL_CALLS and first:
            ylabels.append(_clean(first))
        for kw in call.keywords:
            value = _text(kw.value)
            if value and kw.arg == "title":
                titles.append(_clean(value))
            elif value and kw.arg == "label":
                labels.append(_clean(value))
            elif value and kw.arg == "xlabel":
                xlabels.append(_clean(value))
            elif value and kw.arg == "ylabel":
                ylabels.append(_clean(value))
    kind = _figure_kind(plain)
    parts = []
    if titles:
        parts.append("; ".join(_unique(titles)))
    if xlabels:
        parts.append("horizontal axis: " + ", ".join(_unique(xlabels)))
    if ylabels:
        parts.append("vertical axis: " + ", ".join(_unique(ylabels)))
    if labels:
        parts.append("curves: " + ", ".join(_unique(labels)))
    if parts:
        return f"{kind}: " + ". ".join(parts)
    # The last expression of the cell, if it is a call that draws (draw(f), model.plot(), ...).
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and \
            _call_name(last.value) not in {"print", "show", "display", "tight_layout"}:
        call_text = ast.unparse(last.value)
        if len(call_text) <= 60:
            return f"{kind} drawn by {call_text}{where}"
    return f"{kind} drawn by the code cell{where}"


def _ancestor(node: nodes.Node, test) -> nodes.Element | None:
    node = node.parent
    while node is not None and not test(node):
        node = node.parent
    return node


def _cell_source(cell: nodes.Element, notebook_cells) -> str:
    for child in cell.findall(nodes.literal_block):
        if _ancestor(child, lambda n: n.get("nb_element") == "cell_code_source") is not None:
            return child.astext()
    index = cell.get("cell_index")
    cells = notebook_cells()
    if index is not None and cells and index < len(cells):
        return "".join(cells[index].get("source", ""))
    return ""


def _is(element: str):
    return lambda n: isinstance(n, nodes.Element) and n.get("nb_element") == element


def fill_alt(app, doctree: nodes.document) -> None:
    """Runs when a document has been read, while each output still holds all its MIME types."""
    docname = app.env.docname
    cache: dict[str, list] = {}

    def notebook_cells():
        if "cells" not in cache:
            cache["cells"] = []
            path = Path(app.env.doc2path(docname))
            if path.suffix == ".ipynb":
                import nbformat
                cache["cells"] = nbformat.read(path, as_version=4).cells
        return cache["cells"]

    by_cell: dict[int, tuple[nodes.Element, list]] = {}
    for img in doctree.findall(nodes.image):
        if img.get("alt", "").strip():
            continue
        cell = _ancestor(img, _is("cell_code"))
        if cell is None:
            logger.warning(f"image {img.get('uri')!r} has no alt text: describe it (![what it shows](file))",
                           location=img, type="figure_alt", subtype="missing")
            continue
        bundle = _ancestor(img, _is("mime_bundle"))
        types = {c.get("mime_type"): c for c in (bundle.children if bundle is not None else [])
                 if isinstance(c, nodes.Element)}
        plain = types["text/plain"].astext() if "text/plain" in types else ""
        widget = "application/vnd.jupyter.widget-view+json" in types
        by_cell.setdefault(id(cell), (cell, []))[1].append((img, plain, widget))
    for cell, images in by_cell.values():
        section = _ancestor(cell, lambda n: isinstance(n, nodes.section))
        title = section[0].astext() if section is not None and isinstance(section[0], nodes.title) else ""
        source = _cell_source(cell, notebook_cells)
        for k, (img, plain, widget) in enumerate(images, 1):
            alt = describe(source, title, plain, widget)
            img["alt"] = alt if len(images) == 1 else f"{alt} (image {k} of {len(images)})"


def setup(app):
    app.connect("doctree-read", fill_alt)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
