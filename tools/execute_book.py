"""Run the book's notebooks into its execution cache, several at a time, before ``jupyter-book build``.

MyST-NB (``execute_notebooks: cache`` in _config.yml) runs the notebooks one after the other while it reads
them. This fills the same cache (``_build/.jupyter_cache``) first with jupyter-cache's parallel executor (one
process per core), so the build then finds every notebook already executed. Only notebooks whose code changed
since their last run are executed again. A notebook that fails here is simply left out of the cache: the book
build then runs it itself and reports the error.

Usage: python tools/execute_book.py [--jobs N] [--cache DIR] [--toc FILE]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"


def toc_files(toc: dict) -> list[str]:
    """Every file named in a Jupyter Book _toc.yml (root, parts, chapters, sections), in order."""
    found = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def book_notebooks(root: Path = ROOT, toc_path: Path | None = None) -> list[Path]:
    toc = yaml.safe_load((toc_path or root / "_toc.yml").read_text())
    config = yaml.safe_load((root / "_config.yml").read_text())
    mode = (config.get("execute") or {}).get("execute_notebooks", "auto")
    if mode != "cache":
        return []
    paths = []
    for name in toc_files(toc):
        # Names in the toc usually lack the extension (and "1.1-..." has dots of its own).
        path = root / name if name.endswith(".ipynb") else root / f"{name}.ipynb"
        if path.is_file():
            paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run at once")
    parser.add_argument("--cache", type=Path, default=CACHE, help="the book's execution cache folder")
    parser.add_argument("--toc", type=Path, default=None, help="another _toc.yml")
    args = parser.parse_args(argv)
    notebooks = book_notebooks(toc_path=args.toc)
    if not notebooks:
        print("execute_book: the book does not use the execution cache; nothing to do")
        return 0
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    config = yaml.safe_load((ROOT / "_config.yml").read_text()).get("execute") or {}
    cache = get_cache(str(args.cache))
    for nb in notebooks:
        cache.add_nb_to_project(str(nb))
    stale = [str(nb) for nb in notebooks if _stale(cache, nb)]
    if not stale:
        print(f"execute_book: all {len(notebooks)} notebooks are up to date in the cache")
        return 0
    logger = logging.getLogger("execute_book")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print(f"execute_book: running {len(stale)} of {len(notebooks)} notebooks, {args.jobs} at a time", flush=True)
    start = time.perf_counter()
    executor = load_executor("local-parallel" if args.jobs > 1 else "local-serial", cache, logger=logger)
    # jupyter-cache's pool has one process per CPU; --jobs caps it through the CPU count it sees.
    real_cpu_count = os.cpu_count
    os.cpu_count = lambda: args.jobs
    try:
        result = executor.run_and_cache(filter_uris=stale, timeout=config.get("timeout", 30),
                                        allow_errors=config.get("allow_errors", False))
    finally:
        os.cpu_count = real_cpu_count
    failed = result.excepted + result.errored
    print(f"execute_book: {len(result.succeeded)} executed in {time.perf_counter() - start:.0f} s"
          + (f"; failed (the build will report why): {', '.join(Path(u).name for u in failed)}" if failed else ""))
    return 0


def _stale(cache, nb: Path) -> bool:
    try:
        cache.match_cache_file(str(nb))
    except KeyError:
        return True
    return False


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
