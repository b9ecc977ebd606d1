"""The CUDA text kernels (in the simulator) equal the CPU kernels exactly."""
import numpy as np
import pytest

from engine.backend import get_backend
from engine.corpus import batch_from_texts
from engine.text import TextOptions, tokenize

TEXTS = [
    "L'IA aujourd'hui : Ｎｖｉｄｉａ ﬁn Straße, 10 gigawatts.",
    "e\u0301te\u0301 — déjà vu « citation » 😀 日本語",
    "",
    "   espaces\t\tmultiples\n\nfin  ",
    "İstanbul ǰ ﷺ ½ x² Ⅻ",
]


@pytest.mark.parametrize("opts", [TextOptions(), TextOptions(strip_accents=True, min_token_len=2),
                                  TextOptions(stopwords=("fr", "en"))])
def test_tokenize_gpu_equals_cpu(opts):
    b = batch_from_texts(TEXTS)
    c = tokenize(b, get_backend("cpu"), opts)
    g = tokenize(b, get_backend("gpu"), opts)
    assert g.backend.name == "gpu" and g.backend.simulated
    for name in ("norm", "norm_offsets", "tok_start", "tok_len", "tok_nch", "tok_hash", "doc_tok_offsets"):
        np.testing.assert_array_equal(c.host(name), g.host(name), err_msg=name)
    assert c.n_tokens > 10
