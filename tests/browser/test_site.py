"""The built course site (``make book`` → ``_build/html``), checked in a real browser with the network cut off.

The site is served on 127.0.0.1 by Python's http.server; every request the browser makes to any other origin
is aborted and recorded, so a page that needs the internet (a CDN script, a web font) fails. For every page:

* it loads with no console error, no uncaught exception and no failed request;
* its math is rendered by the local MathJax (each ``.math`` element holds an ``mjx-container``, none an error);
* every image has loaded (``naturalWidth > 0``) and has an alt text that describes it (not a file name);
* its headings start at h1 (exactly one) and never skip a level.

Without a browser: no internal link is broken (every local ``href``/``src`` names an existing file, and a
``#fragment`` an existing id), the offline assets are in ``_static``, and every widget of every notebook page
shows its static picture. Screenshots of each page go to ``tests/_artifacts/screenshots/site``.
"""

from __future__ import annotations

import functools
import html.parser
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

from browser_support import ROOT, Timings, fresh_dir, unavailable

SITE = Path(os.environ.get("DLCOURSE_SITE", ROOT / "_build" / "html"))
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def site_pages() -> list[str]:
    if not SITE.is_dir():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(SITE).parts[:-1]))


PAGES = site_pages()


def require_site() -> None:
    if not (SITE / "index.html").is_file():
        unavailable(f"no built site in {SITE}: run `make book` first (`make test` does)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    require_site()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.checked = []
    start = time.monotonic()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    Timings.record("site", time.monotonic() - start, pages=len(httpd.checked),
                   screenshots=len(httpd.checked))


@pytest.fixture(scope="module")
def site_page(browser, server, screenshots):
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    state = {"blocked": [], "errors": [], "base": base, "shots": fresh_dir(screenshots / "site")}

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            state["blocked"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    # (The browser's own request for /favicon.ico is not the page's doing; the site has no favicon.)
    page.on("console", lambda m: m.type == "error" and not (m.location or {}).get("url", "").endswith("/favicon.ico")
            and state["errors"].append(f"console: {m.text}"))
    page.on("pageerror", lambda e: state["errors"].append(f"uncaught: {e}"))
    # (Blocked requests are reported above; ERR_ABORTED is a load cancelled by the next navigation.)
    page.on("requestfailed", lambda r: r.url.startswith(base) and r.failure != "net::ERR_ABORTED"
            and state["errors"].append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and state["errors"].append(f"HTTP {r.status}: {r.url}"))
    yield page, state
    context.close()


PAGE_CHECK_JS = r"""async () => {
  // Images: load every one (lazy ones too), then look at each.
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const images = imgs.map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt'), width: i.naturalWidth}));
  // Math: wait for MathJax to finish typesetting, if the page has any.
  const math = [...document.querySelectorAll('.math')];
  if (math.length) {
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 20000)
      await new Promise(r => setTimeout(r, 100));
    if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  }
  const untypeset = math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80));
  const mathErrors = [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent);
  // Headings of the page's own content (not the theme's navigation).
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const headings = [...article.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map(h => ({level: +h.tagName[1], text: h.textContent.replace(/[#¶]\s*$/, '').trim().slice(0, 60)}));
  return {images, math: math.length, containers: document.querySelectorAll('mjx-container').length,
          untypeset, mathErrors, headings, title: document.title};
}"""

REDIRECT = re.compile(r'<meta[^>]+http-equiv="refresh"', re.I)
FILENAME_ALT = re.compile(r"(^|/)[^ ]+\.(png|jpe?g|gif|svg|webp)$", re.I)


def heading_problems(headings: list[dict]) -> list[str]:
    problems = []
    if not headings:
        return ["no headings"]
    if headings[0]["level"] != 1:
        problems.append(f"starts at h{headings[0]['level']} ({headings[0]['text']!r}), not h1")
    h1 = [h["text"] for h in headings if h["level"] == 1]
    if len(h1) > 1:
        problems.append(f"{len(h1)} h1 headings: {h1}")
    for prev, cur in zip(headings, headings[1:]):
        if cur["level"] > prev["level"] + 1:
            problems.append(f"h{prev['level']} {prev['text']!r} is followed by h{cur['level']} {cur['text']!r}")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES or ["index.html"])
def test_page(site_page, server, path):
    page, state = site_page
    page.goto("about:blank")
    state["blocked"].clear()
    state["errors"].clear()
    if REDIRECT.search((SITE / path).read_text(encoding="utf-8", errors="replace")):
        # A redirect page (index.html → the welcome page): check the page it leads to.
        page.goto(state["base"] + path)
        page.wait_for_url(lambda url: url != state["base"] + path, wait_until="load", timeout=15_000)
    else:
        page.goto(state["base"] + path, wait_until="load")
    result = page.evaluate(PAGE_CHECK_JS)
    page.wait_for_timeout(100)   # late console messages
    name = path.replace("/", "__").removesuffix(".html")
    page.screenshot(path=str(state["shots"] / f"{name}.png"))
    server.checked.append(path)

    problems = [f"request to another origin (blocked): {u}" for u in state["blocked"]]
    problems += state["errors"]
    if result["untypeset"]:
        problems.append(f"{len(result['untypeset'])} of {result['math']} math elements not rendered by MathJax, "
                        f"e.g. {result['untypeset'][:3]}")
    problems += [f"MathJax error: {e}" for e in result["mathErrors"]]
    for img in result["images"]:
        if not img["width"]:
            problems.append(f"image not loaded: {img['src']}")
        alt = (img["alt"] or "").strip()
        if not alt or FILENAME_ALT.search(alt):
            problems.append(f"image without a real alt text: {img['src']} (alt={img['alt']!r})")
    problems += [f"headings: {p}" for p in heading_problems(result["headings"])]
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


# --- checks without a browser ----------------------------------------------------------------------------

class _Links(html.parser.HTMLParser):
    ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        url = attrs.get(self.ATTRS.get(tag, ""), None)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            url = (attrs.get("content") or "").partition("url=")[2].strip() or None
        if url:
            self.links.append(url)


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_no_broken_internal_link():
    require_site()
    broken, checked = [], 0
    for rel in PAGES:
        page = SITE / rel
        for url in _parse(page).links:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / urllib.parse.unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file() or SITE.resolve() not in (target.resolve(), *target.resolve().parents):
                broken.append(f"{rel}: {url} (no file {target})")
            elif parts.fragment and target.suffix == ".html" and \
                    urllib.parse.unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{rel}: {url} (no id {parts.fragment!r} in {target.name})")
    assert checked > 0
    assert not broken, f"{len(broken)} broken internal links:\n  " + "\n  ".join(broken[:40])


def test_offline_assets_present():
    require_site()
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import site_assets
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert not site_assets.check_site(SITE)
    # No page refers to a script, style sheet or font on another origin.
    remote = []
    for rel in PAGES:
        text = (SITE / rel).read_text(encoding="utf-8", errors="replace")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
            url = re.search(r'(?:src|href)="((?:https?:)?//[^"]+)"', tag)
            if url and (tag.startswith("<script") or re.search(r'rel="[^"]*(stylesheet|preload|icon|prefetch)', tag)):
                remote.append(f"{rel}: {url.group(1)}")
    assert not remote, "pages load resources from other origins:\n  " + "\n  ".join(remote[:20])


def _notebook_pages():
    for nb_path in sorted((ROOT / "units").glob("*/*.ipynb")):
        html_path = SITE / nb_path.relative_to(ROOT).with_suffix(".html")
        if html_path.is_file():   # notebooks not (yet) in _toc.yml are not built
            yield nb_path, html_path


def _shown(nb_path: Path):
    """The notebook as the site shows it: the student version (`make book`), or as is for a solutions site."""
    from dlcourse.grading.release import student_version

    nb = nbformat.read(nb_path, as_version=4)
    return nb if os.environ.get("DLCOURSE_SITE_VERSION") == "solutions" else student_version(nb)[0]


def test_every_figure_of_the_notebooks_is_shown():
    """As many images on each notebook page as the committed notebook has PNG outputs (a kernel started with
    MPLBACKEND=Agg, for one, draws no figures at all)."""
    require_site()
    missing = []
    for nb_path, html_path in _notebook_pages():
        nb = _shown(nb_path)
        expected = sum(1 for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        shown = len(re.findall(r'<img[^>]+src="[^"]*_images/', html_path.read_text(encoding="utf-8")))
        if shown < expected:
            missing.append(f"{html_path.relative_to(SITE)}: {shown} images, the notebook has {expected} figures")
    assert not missing, "\n".join(missing)


def test_every_widget_shows_its_static_picture():
    require_site()
    missing, pages = [], 0
    for nb_path, html_path in _notebook_pages():
        pages += 1
        nb = _shown(nb_path)
        # Demos carry a PNG of their default state; other widgets (a progress bar) show their text form.
        expected = sum(1 for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if {WIDGET_MIME, "image/png"} <= set(o.get("data", {})))
        shown = html_path.read_text(encoding="utf-8").count('alt="Interactive figure')
        if shown != expected:
            missing.append(f"{html_path.relative_to(SITE)}: {shown} widget pictures, the notebook has {expected}")
    assert pages, "no notebook page in the site"
    assert not missing, "\n".join(missing)


def test_launch_buttons_point_at_the_repository():
    """Each notebook page offers Binder and Colab (and JupyterHub, when configured) for this repository."""
    import yaml

    require_site()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = urllib.parse.urlsplit(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "main")
    wanted = [f"{config['launch_buttons']['binderhub_url'].rstrip('/')}/v2/gh/{repo}/{branch}?urlpath=lab/tree/",
              f"https://colab.research.google.com/github/{repo}/blob/{branch}/"]
    if config["launch_buttons"].get("jupyterhub_url"):
        wanted.append(config["launch_buttons"]["jupyterhub_url"].rstrip("/") + "/hub/user-redirect/git-pull?")
    missing, pages = [], 0
    for nb_path, html_path in _notebook_pages():
        pages += 1
        rel = nb_path.relative_to(ROOT).as_posix()
        links = [u.replace("&amp;", "&") for u in _parse(html_path).links]
        for prefix in wanted:
            if not any(u.startswith(prefix) and u.endswith(rel.split("/")[-1]) for u in links):
                missing.append(f"{html_path.relative_to(SITE)}: no link starting {prefix} to {rel}")
    assert pages and not missing, "\n".join(missing)


# --- the site students read shows no solution (issue 13, point 9) ------------------------------------------------

TRIVIAL = {"", "return", "pass", "else:", "try:", "continue", "break", ")", "]", "}"}


def _norm(line: str) -> str:
    return " ".join(line.split())


def solution_lines(units: Path = ROOT / "units") -> dict[str, str]:
    """Every non-trivial line between ### BEGIN/END SOLUTION in the instructor notebooks: {line: where}."""
    from dlcourse.grading.release import BEGIN, END

    found = {}
    for nb_path in sorted(units.glob("*/*.ipynb")):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if line.strip() == BEGIN:
                    inside = True
                elif line.strip() == END:
                    inside = False
                elif inside and _norm(line) not in TRIVIAL and not line.strip().startswith("#") \
                        and len(line.strip()) > 8:
                    found.setdefault(_norm(line), nb_path.name)
    return found


def site_text_lines(path: Path) -> set[str]:
    """The lines a reader can see in one file of the site: a page's text (tags removed, entities decoded), a
    downloadable notebook's cell sources, any other text file as is."""
    import html as html_mod

    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        except Exception:  # noqa: BLE001 - not a notebook after all: read it as text
            pass
    elif path.suffix in (".html", ".htm"):
        text = html_mod.unescape(re.sub(r"<[^>]+>", "", text))
    return {_norm(line) for line in text.splitlines()}


def leaks_in_site(site: Path, solutions: dict[str, str]) -> list[str]:
    problems = []
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".ipynb", ".txt", ".md", ".js", ".py"):
            continue
        if "_static" in path.relative_to(site).parts:
            continue
        lines = site_text_lines(path)
        rel = path.relative_to(site).as_posix()
        problems += [f"{rel}: solution line from {solutions[line]}: {line}" for line in sorted(lines & solutions.keys())]
        problems += [f"{rel}: test marker {line!r}" for line in sorted(lines) if re.match(r"#\s*NBVAL_", line)]
        problems += [f"{rel}: solution marker" for line in lines if line in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return problems


def test_the_leak_check_catches_a_solution_site(tmp_path):
    """The check itself: a page carrying one solution line (escaped as Sphinx writes code), a downloadable
    notebook carrying a marker, are both caught; the student versions are not."""
    from dlcourse.grading.release import student_version

    solutions = solution_lines()
    assert len(solutions) > 40
    line = next(iter(solutions))
    (tmp_path / "page.html").write_text(f'<div class="highlight"><pre><span class="k">'
                                        f'{line.replace("<", "&lt;")}</span></pre></div>')
    nb = nbformat.read(next((ROOT / "units").glob("01-*/*.ipynb")), as_version=4)
    (tmp_path / "_sources").mkdir()
    nbformat.write(nb, tmp_path / "_sources" / "solved.ipynb")
    problems = leaks_in_site(tmp_path, solutions)
    assert any(p.startswith("page.html: solution line") for p in problems)
    assert any(p.startswith("_sources/solved.ipynb") for p in problems)
    clean = tmp_path / "clean"
    clean.mkdir()
    for nb_path in sorted((ROOT / "units").glob("*/*.ipynb")):
        nbformat.write(student_version(nbformat.read(nb_path, as_version=4))[0], clean / nb_path.name)
    assert leaks_in_site(clean, solutions) == []


@pytest.mark.skipif(os.environ.get("DLCOURSE_SITE_VERSION") == "solutions", reason="checking the solutions site")
def test_the_student_site_shows_no_solution():
    """`make book` publishes the student version: no solution line, no test marker in any page or download, and
    every exercise shows its stub."""
    require_site()
    problems = leaks_in_site(SITE, solution_lines())
    assert not problems, f"{len(problems)} solution leaks in {SITE}:\n  " + "\n  ".join(problems[:30])
    stubs = 0
    for _, html_path in _notebook_pages():
        stubs += html_path.read_text(encoding="utf-8").count("NotImplementedError")
    assert stubs >= 20, "the site's exercises should show their stubs (raise NotImplementedError)"
