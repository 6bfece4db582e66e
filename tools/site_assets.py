"""Offline assets for the course site: MathJax, require.js and the ipywidgets HTML manager (with its fonts).

The built book must work without internet (a classroom, a laptop on a train), so nothing it loads may come
from a CDN. This module fetches pinned packages from the npm registry at build time, checks each tarball
against a pinned SHA-512, unpacks only the files a page needs into ``.cache/site-assets/static`` (gitignored),
and — used as a Sphinx extension (``_config.yml``: ``sphinx.local_extensions``) — adds that folder to
``html_static_path``, so Sphinx copies it into ``_build/html/_static``. ``_config.yml`` then points at the
local copies: ``mathjax_path: mathjax/tex-mml-chtml.js`` and ``nb_ipywidgets_js`` (require.js and
``embed-amd.js``, which finds its Font Awesome fonts next to itself).

Usage:
    python tools/site_assets.py            # fetch (if needed) and unpack; prints the static folder
    python tools/site_assets.py --check DIR  # check that a built site (e.g. _build/html) holds every asset

The download uses ``npm pack`` (npm's own cache and registry settings) or, without npm, the registry's
tarball URL directly. Once the cache is filled, building needs no network at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("DLCOURSE_ASSETS_CACHE", ROOT / ".cache" / "site-assets"))
REGISTRY = os.environ.get("npm_config_registry", "https://registry.npmjs.org").rstrip("/")
PROBE_TIMEOUT_S = float(os.environ.get("DLCOURSE_REGISTRY_TIMEOUT", "8"))   # how long offline takes to say so


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str            # npm's "sha512-<base64>" of the tarball
    files: tuple[str, ...]    # paths (files or folders) inside the tarball's "package/" folder
    dest: str                 # folder under the static folder
    strip: str = ""           # prefix removed from each path when copying

    @property
    def tarball(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"   # as `npm pack` names it

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")

PACKAGES = (
    # MathJax 3 (Sphinx's default is mathjax@3 from a CDN): the combined TeX+MathML → CHTML build, the
    # extensions it may load on demand, its web fonts and the accessibility parts its menu can switch on.
    Package("mathjax", "3.2.2",
            "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
            ("LICENSE", "es5/tex-mml-chtml.js", "es5/input", "es5/output/chtml", "es5/a11y", "es5/sre", "es5/ui"),
            "mathjax", strip="es5/"),
    # RequireJS: the AMD loader the widgets' embed script needs.
    Package("requirejs", "2.3.8",
            "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
            ("require.js",), "widgets"),
    # The ipywidgets 8 HTML manager (renders saved widget state without a kernel) and its Font Awesome fonts.
    Package("@jupyter-widgets/html-manager", "1.0.15",
            "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
            ("dist/embed-amd.js", "dist/*font*"), "widgets", strip="dist/"),
)

# Written next to embed-amd.js and loaded before require.js. The style sheets bundled in embed-amd.js find their
# Font Awesome fonts next to the AMD module that carries them ("@jupyter-widgets/html-manager/dist/libembed-amd",
# "@jupyter-widgets/base", "@jupyter-widgets/controls", ...), which require.js would place relative to the page
# (wrong on every page); this maps all of them to the script's own folder, where the fonts are.
ASSETS_PATH_JS = ("widgets/assets-path.js", """\
// Where the widgets' HTML manager finds its fonts: this script's own folder (_static/widgets/).
(function () {
  var dir = new URL(".", document.currentScript.src).href.replace(/\\/$/, "");
  window.__jupyter_widgets_assets_path__ = dir + "/";
  // require.js reads a global `require` object, if there is one, as its configuration.
  window.require = {paths: {"@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir}};
})();
""")

# What _config.yml refers to, relative to _static (checked by --check and by the Sphinx extension).
REQUIRED = ("mathjax/tex-mml-chtml.js", "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
            "widgets/assets-path.js", "widgets/require.js", "widgets/embed-amd.js")


class AssetError(RuntimeError):
    pass


def _stamp() -> str:
    return json.dumps([[(p.name, p.version, p.integrity, p.files) for p in PACKAGES], ASSETS_PATH_JS])


def _check_integrity(path: Path, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, path.read_bytes()).digest()).decode()
    if digest != expected:
        path.unlink()
        raise AssetError(f"{path.name}: checksum mismatch (expected {integrity}, received {algo}-{digest}); "
                         "the file was removed, run the build again")


def registry() -> str:
    """The registry a download would use: npm's own setting (``.npmrc``, ``npm_config_registry``) when npm is there."""
    npm = shutil.which("npm")
    if npm:
        try:
            out = subprocess.run([npm, "config", "get", "registry"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and "://" in out.stdout:
                return out.stdout.strip().rstrip("/")
        except (subprocess.SubprocessError, OSError):
            pass
    return REGISTRY


def registry_problem(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the registry at ``url`` cannot be reached within ``timeout`` seconds (``None`` when it answers).

    Any HTTP answer counts, even an error status: the point is to tell "offline" in seconds, where npm would retry for
    minutes before it gave up.
    """
    import socket
    import urllib.error

    try:
        with urllib.request.urlopen(url + "/", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
        return str(getattr(exc, "reason", exc) or type(exc).__name__)


def fetch(pkg: Package, cache: Path = CACHE) -> Path:
    """Return the package's tarball in the cache, downloading it from the npm registry if missing."""
    target = cache / pkg.tarball
    if target.exists():
        _check_integrity(target, pkg.integrity)
        return target
    cache.mkdir(parents=True, exist_ok=True)
    spec = f"{pkg.name}@{pkg.version}"
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        npm = shutil.which("npm")
        try:
            if npm:
                out = subprocess.run([npm, "pack", spec, "--json", "--pack-destination", tmp],
                                     capture_output=True, text=True, check=True, timeout=300)
                got = Path(tmp) / json.loads(out.stdout)[0]["filename"]
            else:
                got = Path(tmp) / pkg.tarball
                with urllib.request.urlopen(pkg.url, timeout=120) as r, open(got, "wb") as f:
                    shutil.copyfileobj(r, f)
        except (subprocess.SubprocessError, OSError, ValueError, KeyError, IndexError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise AssetError(f"could not download {spec} from the npm registry ({REGISTRY}): {detail}\n"
                             "The site's offline assets are fetched once at build time; connect to the "
                             f"registry once, or put the tarball {pkg.tarball} into {cache}.") from exc
        shutil.move(got, target)
    _check_integrity(target, pkg.integrity)
    return target


def _wanted(member: str, pkg: Package) -> str | None:
    """The member's destination path relative to pkg.dest, or None if it is not needed."""
    if not member.startswith("package/"):
        return None
    rel = member[len("package/"):]
    for pattern in pkg.files:
        if pattern.endswith("*font*"):
            folder = pattern[: -len("*font*")]
            ok = rel.startswith(folder) and "/" not in rel[len(folder):] and rel.endswith(FONT_SUFFIXES)
        else:
            ok = rel == pattern or rel.startswith(pattern.rstrip("/") + "/")
        if ok:
            return rel[len(pkg.strip):] if pkg.strip and rel.startswith(pkg.strip) else rel
    return None


def unpack(pkg: Package, tarball: Path, static: Path) -> int:
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            rel = _wanted(member.name, pkg) if member.isfile() else None
            if rel is None or ".." in Path(rel).parts:
                continue
            out = static / pkg.dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


def ensure(cache: Path = CACHE, quiet: bool = False) -> Path:
    """Fetch and unpack every pinned package (only what is missing); return the static folder."""
    static = cache / "static"
    stamp = static / ".stamp"
    if stamp.exists() and stamp.read_text() == _stamp() and all((static / r).is_file() for r in REQUIRED):
        generated = static / ASSETS_PATH_JS[0]
        if generated.read_text() != ASSETS_PATH_JS[1]:
            generated.write_text(ASSETS_PATH_JS[1])
        return static
    absent = [pkg for pkg in PACKAGES if not (cache / pkg.tarball).exists()]
    if absent:
        url = registry()
        problem = registry_problem(url)
        if problem:
            raise AssetError(
                f"the site's offline assets are not in {cache} yet, and the npm registry ({url}) cannot be reached "
                f"({problem}). They are fetched once, at the first build: connect once and build again, or copy "
                f"these tarballs into {cache}: " + ", ".join(pkg.tarball for pkg in absent))
    tarballs = [(pkg, fetch(pkg, cache)) for pkg in PACKAGES]
    partial = cache / "static.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for pkg, tarball in tarballs:
        n = unpack(pkg, tarball, partial)
        if not quiet:
            print(f"site assets: {pkg.name}@{pkg.version}: {n} files", file=sys.stderr)
    (partial / ASSETS_PATH_JS[0]).write_text(ASSETS_PATH_JS[1])
    missing = [r for r in REQUIRED if not (partial / r).is_file()]
    if missing:
        raise AssetError(f"unpacked assets lack {missing}")
    (partial / ".stamp").write_text(_stamp())
    shutil.rmtree(static, ignore_errors=True)
    partial.rename(static)
    return static


def check_site(html: Path) -> list[str]:
    """Problems with the offline assets of a built site (empty when all is well)."""
    return [f"missing {html / '_static' / r}" for r in REQUIRED if not (html / "_static" / r).is_file()]


# --- Sphinx extension -------------------------------------------------------------------------------

def _config_inited(app, config) -> None:
    try:
        static = ensure(quiet=True)
    except AssetError as exc:
        from sphinx.errors import ExtensionError
        raise ExtensionError(f"site_assets: {exc}") from exc
    if str(static) not in config.html_static_path:
        config.html_static_path.append(str(static))
    # The config must point at the local copies, never at a CDN.
    wanted = {"mathjax_path": [config.mathjax_path]}
    if "nb_ipywidgets_js" in config:
        wanted["nb_ipywidgets_js"] = list(config.nb_ipywidgets_js or {})
    for name, paths in wanted.items():
        for path in paths:
            if "://" in str(path) or not (static / str(path)).is_file():
                from sphinx.util import logging
                logging.getLogger(__name__).warning(
                    f"site_assets: {name} refers to {path!r}, which is not a local asset in {static} "
                    "(the site would need the network)")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts from a page.

    Sphinx 7.4 lists a script added with ``app.add_js_file(None, body=...)`` after the builder started twice
    (once as None, once as '' from the registry), so sphinx-thebe's ``const THEBE_JS_URL = ...`` ran twice and
    every page logged "Identifier 'THEBE_JS_URL' has already been declared".
    """
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, unique = set(), []
    for js in files:
        attrs = getattr(js, "attributes", {}) or {}
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None),
               tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def _build_finished(app, exception) -> None:
    """Copy the assets again after every build: Sphinx skips copying static files when no page changed."""
    if exception is None and app.builder.format == "html":
        from sphinx.util.fileutil import copy_asset
        copy_asset(str(ensure(quiet=True)), str(Path(app.outdir) / "_static"),
                   excluded=lambda rel: Path(rel).name.startswith("."))


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        problems = check_site(Path(argv[1] if len(argv) > 1 else ROOT / "_build" / "html"))
        print("\n".join(problems) or "all offline assets present")
        return 1 if problems else 0
    try:
        print(ensure())
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
