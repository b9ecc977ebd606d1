"""The bundled sample corpus, installed as the package ``engine.seeds``.

The folder stays at the top of the repository (``pyproject.toml`` maps it with
``package-dir``); this file only makes it a package so that
``importlib.resources`` finds its texts in an editable install and in a wheel
alike.  The corpus reader takes ``*.txt`` and ``*.md`` (not ``README.md``), so
this file is never read as a document.  Use :func:`engine.resources.seeds_dir`.
"""
