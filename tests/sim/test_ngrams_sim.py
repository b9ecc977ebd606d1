"""n-gram counting on the GPU backend (CUDA simulator) equals the CPU backend exactly."""
import pytest

from engine.corpus import batch_from_texts
from engine.ngrams import count_ngrams
from engine.text import TextOptions

TEXTS = [
    "Nvidia et OpenAI ont conclu un partenariat : 10 gigawatts, 100 milliards de dollars.",
    "L'action Nvidia a progressé ; OpenAI construit l'infrastructure. Nvidia, OpenAI !",
    "",
    "cafe\u0301 — Ｎｖｉｄｉａ ﬁn 😀 日本語 Nvidia et OpenAI",
    "un",
]


def batches():
    return [batch_from_texts(TEXTS[:2], base=0), batch_from_texts(TEXTS[2:], ids=["c", "d", "e"], base=2)]


@pytest.mark.parametrize("kw", [dict(n="1-3"), dict(n="2-4", char=True), dict(n="1-2", top=3),
                                dict(n="1-2", text=TextOptions(stopwords=("fr",), strip_accents=True))])
def test_gpu_equals_cpu(kw):
    cpu = count_ngrams(batches(), device="cpu", **kw)
    gpu = count_ngrams(batches(), device="gpu", **kw)
    assert cpu.num_rows > 3
    assert gpu.equals(cpu)


def test_gpu_spill_equals_cpu():
    cpu = count_ngrams(batches(), n="1-3", device="cpu")
    gpu = count_ngrams(batches(), n="1-3", device="gpu", memory="1MB")
    assert gpu.equals(cpu)
