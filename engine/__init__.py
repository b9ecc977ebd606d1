"""corpus-engine: n-grams, MinHash near-duplicates and term co-occurrence on CPU or GPU."""
__version__ = "0.1.0"
