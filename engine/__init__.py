"""corpus-engine: n-grams, MinHash near-duplicates and term co-occurrence on CPU or GPU."""
__version__ = "0.1.0"

from engine.resources import seeds_dir  # noqa: E402  (the bundled sample corpus, a folder)

__all__ = ["__version__", "seeds_dir"]
