"""Sphinx extension: HTML anchors written in a page are targets for MyST links ``page.md#anchor``.

The notebooks cite with plain Markdown links such as
``[(Hochreiter & Schmidhuber, 1997)](../../course/bibliography.md#hochreiter1997long)`` so that JupyterLab and the
site read the same (see ``tools/cite.py``). MyST resolves the ``#anchor`` of such a link only against the *heading*
slugs of the target page, and warns (``make book`` fails on warnings) for anything else. The bibliography page marks
each entry with ``<a id="key"></a>``; this extension records every such id as a slug of its page, so that the link
resolves to ``bibliography.html#key`` — the anchor the raw HTML puts in the page.
"""

from __future__ import annotations

import re

from docutils import nodes

#: The opening tag is enough: Markdown-it hands inline HTML over one tag at a time (``<a id="key">``, then ``</a>``).
ANCHOR = re.compile(r"""<a\s+id=["']([A-Za-z][\w.:-]*)["']\s*>""")


def register_anchors(app, doctree) -> None:
    """Add each ``<a id="..."></a>`` of the page just read to its MyST slugs (headings keep their own slugs)."""
    slugs = app.env.metadata[app.env.docname].setdefault("myst_slugs", {})
    for raw in doctree.findall(nodes.raw):
        if "html" not in raw.get("format", "").split():
            continue
        for anchor in ANCHOR.findall(raw.astext()):
            slugs.setdefault(anchor, (raw.line, anchor, anchor))


def setup(app):
    app.connect("doctree-read", register_anchors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
