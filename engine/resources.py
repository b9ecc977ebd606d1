"""Files shipped inside the package, found the same way in a checkout, an editable install
and a wheel.

The sample corpus lives in the repository's top-level ``seeds/`` folder and is
installed as the package ``engine.seeds`` (``package-dir`` in pyproject.toml), so
code must not locate it relative to ``engine/`` on disk: in a wheel ``engine/``
sits in site-packages with ``seeds/`` inside it, in a checkout beside it.
"""
from __future__ import annotations

import atexit
import contextlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["seeds_dir"]

SEEDS_PACKAGE = "engine.seeds"


@lru_cache(maxsize=1)
def seeds_dir() -> Path:
    """The bundled sample corpus (five French news articles) as a folder on disk.

    Returns
    -------
    pathlib.Path
        A real directory that :class:`engine.corpus.CorpusReader` can walk: the
        installed package folder (``seeds/`` itself in an editable install), or (when the package is imported from a zip) a temporary copy that lasts
        until the interpreter exits.

    Raises
    ------
    engine.corpus.CorpusError
        When the package data is missing (a broken or absent install): the CLI's one-line error.
    """
    try:
        root = resources.files(SEEDS_PACKAGE)
    except ModuleNotFoundError:   # a checkout on PYTHONPATH, not installed: no package mapping
        from engine.corpus import CorpusError
        raise CorpusError("the bundled sample corpus is not installed (package engine.seeds): "
                          "install the project (make demo, or pip install -e .)") from None
    if isinstance(root, Path):
        path = root
    else:
        # zipimport and the like: as_file extracts the folder; keep it for the process
        stack = contextlib.ExitStack()
        atexit.register(stack.close)
        path = stack.enter_context(resources.as_file(root))
    if not path.is_dir() or not any(path.glob("*.txt")):
        from engine.corpus import CorpusError
        raise CorpusError(f"the bundled sample corpus is missing ({path}/*.txt): "
                          "a broken install, reinstall corpus-engine")
    return path
