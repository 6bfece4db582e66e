"""The site's launch buttons (Binder, Colab, JupyterHub) open the student notebooks, never the solved ones.

One setting names where they point: ``repository.url`` (and ``branch``) in ``_config.yml``, the student
repository that ``python -m dlcourse release --git DIR`` writes and the instructor publishes. This test reads
every launch link of the built site (``make book`` builds ``_build/html``) and checks that it names that
repository and a notebook that the student repository holds, as a student version (stubs, no solution).
"""

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import nbformat
import pytest

from dlcourse.grading.release import BEGIN
from dlcourse.grading.student_repo import install_url, student_files

pytestmark = pytest.mark.unit1
ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
HREF = re.compile(r'href="(https?://[^"]+)"')


def config() -> tuple[str, str]:
    text = (ROOT / "_config.yml").read_text()
    url = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.MULTILINE).group(1)
    branch = re.search(r"^\s+branch:\s*(\S+)", text, re.MULTILINE).group(1)
    return url.rstrip("/"), branch


def launch_targets(html: str, repo_url: str, branch: str) -> list[tuple[str, str]]:
    """``(kind, path in the repository)`` of every Binder, Colab and JupyterHub link on a page."""
    org_repo = "/".join(urlparse(repo_url).path.strip("/").split("/")[:2])
    found = []
    for href in HREF.findall(html.replace("&amp;", "&")):
        if "/v2/gh/" in href:
            assert f"/v2/gh/{org_repo}/{branch}?" in href, href
            found.append(("binder", unquote(parse_qs(urlparse(href).query)["urlpath"][0]).split("/", 2)[-1]))
        elif "colab.research.google.com" in href:
            assert f"/github/{org_repo}/blob/{branch}/" in href, href
            found.append(("colab", href.split(f"/blob/{branch}/", 1)[1]))
        elif "git-pull?" in href:
            query = parse_qs(urlparse(href).query)
            assert query["repo"] == [repo_url] and query["branch"] == [branch], href
            found.append(("jupyterhub", query["urlpath"][0].split("/", 3)[-1]))
    return found


def test_the_setting_names_the_student_repository_and_colab_installs_from_it():
    url, _ = config()
    assert install_url(ROOT) == f"git+{url}"


def test_every_launch_link_opens_a_student_notebook():
    if not (SITE / "index.html").exists():
        if os.environ.get("CI"):
            pytest.fail("the site is not built: `make test` builds it with `make book` first")
        pytest.skip("the site is not built: run `make book`")
    url, branch = config()
    files = student_files(ROOT, install_from=install_url(ROOT))
    pages = sorted((SITE / "units").rglob("*.html"))
    assert pages, "no unit pages in the site"
    checked = 0
    for page in pages:
        targets = launch_targets(page.read_text(encoding="utf-8"), url, branch)
        for kind, path in targets:
            assert path in files, f"{page.name}: the {kind} button opens {path}, which the student repository lacks"
            nb = nbformat.reads(files[path].decode(), as_version=4)
            assert not any(BEGIN in c.source for c in nb.cells), f"{path} holds a solution"
            checked += 1
    assert checked >= len(pages), f"only {checked} launch links on {len(pages)} unit pages"
