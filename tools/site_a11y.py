"""Sphinx extension: small accessibility repairs of the HTML that Sphinx and docutils write for the site.

Found by the axe-core audit in ``tests/browser/test_accessibility.py``:

* docutils writes a bibliography as ``<div role="list">`` whose entries have ``role="doc-biblioentry"``, a role
  DPUB-ARIA 1.1 deprecated and axe does not accept as a list item ("Certain ARIA roles must contain particular
  children", critical). Each entry becomes a ``listitem``; the list keeps its class and layout.
"""

from __future__ import annotations

REPAIRS = [('role="doc-biblioentry"', 'role="listitem"')]


def repair(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body:
        for old, new in REPAIRS:
            body = body.replace(old, new)
        context["body"] = body


def setup(app):
    app.connect("html-page-context", repair)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
