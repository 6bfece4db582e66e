"""The site's build tools without a browser: alt texts from code cells, and which npm files the site gets."""

from __future__ import annotations

import sys

import pytest

from browser_support import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import figure_alt  # noqa: E402
import site_assets  # noqa: E402

sys.path.remove(str(ROOT / "tools"))


@pytest.mark.parametrize("source, plain, widget, expected", [
    ('# NBVAL_IGNORE_OUTPUT\nmake_activation_explorer("sigmoid")', "Demo: an interactive figure", True,
     "Interactive figure: activation explorer (sigmoid), shown in its default state; "
     "run the notebook in JupyterLab to move its controls"),
    ("demo = build()\ndemo", "GraphExplorer: an interactive figure", True, "Interactive figure: graph explorer, "),
    ('fig, ax = plt.subplots()\nax.plot(x, y, label="train")\nax.set_title("loss")\nax.set_xlabel("epoch")',
     "<Figure size 432x216 with 1 Axes>", False, "Figure: loss. horizontal axis: epoch. curves: train"),
    ('fig, axes = plt.subplots(1, 3)\nfor k, ax in enumerate(axes):\n    ax.set_title(f"digit {k}")',
     "<Figure size 720x216 with 3 Axes>", False, "Figure with 3 panels: digit …"),
    ("draw(f)", "<dlcourse.graph.Drawing>", False, "Figure drawn by draw(f) in the section “Graphs”"),
    ("x = 1\nplt.show()", "<Figure size 432x216 with 1 Axes>", False,
     "Figure drawn by the code cell in the section “Graphs”"),
    ("this is not python", "", False, "Figure drawn by the code cell in the section “Graphs”"),
])
def test_alt_text_from_the_code_cell(source, plain, widget, expected):
    alt = figure_alt.describe(source, "Graphs", plain, widget)
    assert alt.startswith(expected)
    assert "$" not in alt and not alt.endswith(".png")


def test_data_set_makers_are_not_mistaken_for_widgets():
    alt = figure_alt.describe('moons = data.make_moons(200)\nplt.scatter(*moons.X.T)\nplt.title("moons")',
                              "Data", "<Figure size 432x216 with 1 Axes>", widget=False)
    assert alt == "Figure: moons"


@pytest.mark.parametrize("member, package, expected", [
    ("package/es5/tex-mml-chtml.js", 0, "tex-mml-chtml.js"),
    ("package/es5/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff", 0,
     "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"),
    ("package/es5/output/svg/fonts/tex.js", 0, None),        # SVG output is not used
    ("package/es5/tex-svg.js", 0, None),
    ("package/require.js", 1, "require.js"),
    ("package/bin/r.js", 1, None),
    ("package/dist/embed-amd.js", 2, "embed-amd.js"),
    ("package/dist/1551f4f60c37af51121f.woff2", 2, "1551f4f60c37af51121f.woff2"),
    ("package/dist/embed.js.map", 2, None),
    ("package/lib/index.js", 2, None),
])
def test_only_the_files_a_page_needs_are_unpacked(member, package, expected):
    assert site_assets._wanted(member, site_assets.PACKAGES[package]) == expected


def test_every_package_is_pinned_by_version_and_checksum():
    for pkg in site_assets.PACKAGES:
        assert pkg.version[0].isdigit() and pkg.integrity.startswith("sha512-")
        assert pkg.tarball.endswith(f"-{pkg.version}.tgz") and "/" not in pkg.tarball


def test_repeated_inline_scripts_are_dropped():
    class JS:
        def __init__(self, filename, body):
            self.filename, self.priority, self.attributes = filename, 500, {"body": body}

    files = [JS(None, "const A = 1"), JS("x.js", ""), JS("", "const A = 1"), JS(None, "const B = 2")]
    context = {"script_files": files}
    site_assets._dedupe_scripts(None, "page", "page.html", context, None)
    assert [(f.filename, f.attributes["body"]) for f in context["script_files"]] == [
        (None, "const A = 1"), ("x.js", ""), (None, "const B = 2")]


def test_config_points_at_local_assets_only():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "://" not in config["mathjax_path"]
    assert all("://" not in path for path in config["nb_ipywidgets_js"])
    staged = [config["mathjax_path"], *config["nb_ipywidgets_js"]]
    assert set(staged) <= set(site_assets.REQUIRED)


def _first_build_offline(tmp_path, extra_env: dict, wrap: list) -> tuple:
    import os
    import subprocess
    import time

    env = {**os.environ, "DLCOURSE_ASSETS_CACHE": str(tmp_path / "empty-cache"), **extra_env}
    if "npm_config_registry" in extra_env:      # straight to that address: a proxy would answer in its place
        env = {k: v for k, v in env.items() if "proxy" not in k.lower()}
    start = time.perf_counter()
    out = subprocess.run([*wrap, sys.executable, str(ROOT / "tools" / "site_assets.py")], capture_output=True,
                         text=True, env=env, timeout=300)
    return out, time.perf_counter() - start


def test_a_first_build_without_network_says_so_in_seconds(tmp_path):
    """The first `make book` on a laptop without network: a clear error naming the tarballs, in seconds.

    The network is really gone (bubblewrap's --unshare-net: no interface but loopback, no DNS). Fails if the build
    hands the download to npm first (it retries for minutes before it gives up) or the message does not say what to do.
    """
    import shutil

    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bubblewrap is not installed (.ci/run installs it)")
    out, elapsed = _first_build_offline(tmp_path, {}, [bwrap, "--dev-bind", "/", "/", "--unshare-net", "--"])
    assert out.returncode == 1, out
    assert "cannot be reached" in out.stderr and "connect once and build again" in out.stderr, out.stderr
    assert all(pkg.tarball in out.stderr for pkg in site_assets.PACKAGES)
    assert elapsed < 30, f"took {elapsed:.0f} s to report being offline"


def test_a_registry_that_never_answers_costs_the_probe_timeout_only(tmp_path):
    """A network that swallows requests (a captive portal, a firewall): the connection opens, no answer comes.

    A local socket that listens and never replies stands in for it (this machine's own network answers every
    address). The probe waits its 2 s and says so. Fails if a download is attempted before the probe (npm would wait
    for minutes), or the probe has no timeout.
    """
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        out, elapsed = _first_build_offline(tmp_path, {"npm_config_registry": url,
                                                       "DLCOURSE_REGISTRY_TIMEOUT": "2"}, [])
    finally:
        silent.close()
    assert out.returncode == 1, out
    assert url in out.stderr and "cannot be reached" in out.stderr and "timed out" in out.stderr, out.stderr
    assert elapsed < 30, f"took {elapsed:.0f} s to report an unreachable registry"


def test_the_probe_counts_any_http_answer_as_reachable():
    """An HTTP error status is an answer: the registry is there (a 404 on its root must not block a build)."""
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert site_assets.registry_problem(f"http://127.0.0.1:{server.server_port}", timeout=5) is None
        server_port = server.server_port
    finally:
        server.shutdown()
        server.server_close()
    assert site_assets.registry_problem(f"http://127.0.0.1:{server_port}", timeout=5)   # closed now: a problem


def test_each_test_file_starts_its_jupyterlab_in_its_own_folder():
    """pytest-xdist runs test files side by side: two files whose servers share a folder wipe each other's kernels.

    (The accessibility test's server once wiped the JupyterLab test's folder, and every later notebook waited for a
    kernel until its timeout.) Fails if two files call ``Lab(...)`` with the same folder name (none: the default).
    """
    import ast

    folders = {}
    for path in sorted((ROOT / "tests" / "browser").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Lab":
                arg = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "jupyterlab"
                folders.setdefault(arg, set()).add(path.name)
    assert len(folders) >= 2, folders            # the JupyterLab and accessibility tests both start one
    shared = {name: files for name, files in folders.items() if len(files) > 1}
    assert not shared, f"test files sharing one JupyterLab folder: {shared}"
