"""``corpus analyze``'s one pass on the (simulated) GPU: the consumers fed the GPU's tokens give
the CPU's figures exactly."""
import io

import numpy as np
from rich.console import Console

from engine.analyze import analyze_corpus

BASE = ("le conseil municipal a vote hier soir le budget de la ville pour l annee prochaine "
        "avec une hausse des depenses d investissement dans les ecoles et les transports")
TEXTS = [BASE, BASE.replace("hier soir", "mardi soir"), BASE + " selon le maire",
         "Straße ﬁn déjà vu « citation » 😀 日本語 Ｎｖｉｄｉａ", "e\u0301te\u0301 à la plage, le de la et",
         "le de la et the of", "court", "deux mots", BASE.replace("ecoles", "colleges"),
         "une autre phrase sans rapport avec le reste du corpus de test ici", BASE,
         "the city council voted the budget of the town for next year", "la ville et le budget de la ville",
         "conseil budget ville conseil budget ville"]


def _analyze(folder, device):
    # several batches, more documents than the all-pairs matrix: the streaming path
    from engine.corpus import CorpusReader
    return analyze_corpus(CorpusReader([folder], batch_bytes=512), device=device,
                          console=Console(file=io.StringIO(), width=200))


def test_gpu_pass_equals_cpu_pass(tmp_path):
    for i, t in enumerate(TEXTS):
        (tmp_path / f"d{i:02d}.txt").write_text(t + "\n", encoding="utf-8")
    cpu, gpu = _analyze(tmp_path, "cpu"), _analyze(tmp_path, "gpu")
    assert gpu.ngrams == cpu.ngrams and cpu.ngrams[1]
    assert np.array_equal(gpu.zipf_counts, cpu.zipf_counts) and gpu.zipf_words == cpu.zipf_words
    assert gpu.summary == {**cpu.summary, "seconds (n-grams)": gpu.summary["seconds (n-grams)"]}
    assert "error" not in gpu.minhash and gpu.minhash["summary"] == cpu.minhash["summary"]
    assert gpu.minhash["clusters"] == cpu.minhash["clusters"] and cpu.minhash["clusters"]
    assert "error" not in gpu.cooc and gpu.cooc["terms"] == cpu.cooc["terms"] and cpu.cooc["terms"]
