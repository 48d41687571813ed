"""Text metrics: qmskit's `evaluate` modules load with the network cut and give the reference scorers' numbers."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings, strategies as st
from rouge_score import rouge_scorer

from qms.errors import CheckFailed
from qms.hashing import sha256_file
from qms.validation import textmetrics

pytestmark = pytest.mark.verifies("QMS-REQ-232")

WORDS = ["the", "left", "right", "lower", "lobe", "effusion", "no", "pneumothorax", "is", "seen", "small", "opacity",
         "heart", "size", "normal", "stable", "tube", "in", "place", "Lungs", "clear", ".", ","]


@pytest.fixture(scope="module")
def offline_modules() -> dict[str, Any]:
    """Both shipped modules, loaded while every socket connection is refused."""
    real = socket.socket.connect

    def refuse(*_: object, **__: object) -> None:
        raise OSError("network access during an offline metric load")

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    try:
        return {name: textmetrics.load_module(textmetrics.builtin_path(name)) for name in textmetrics.BUILTIN}
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]


sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map(" ".join)
pairs = st.lists(st.tuples(sentences, sentences), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(pairs)
def test_rouge_l_module_is_rouge_score_exactly(offline_modules: dict[str, Any], data: list[tuple[str, str]]) -> None:
    """Per pair, the shipped ROUGE-L module gives rouge_score's rougeL F-measure to the last digit; aggregated, their mean."""
    predictions, references = [p for p, _ in data], [r for _, r in data]
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected = [scorer.score(r, p)["rougeL"].fmeasure for p, r in data]
    module = offline_modules["rouge_l"]
    assert textmetrics.compute(module, predictions, references, use_aggregator=False)["rouge_l"] == expected
    assert textmetrics.compute(module, predictions, references)["rouge_l"] == sum(expected) / len(expected)


@settings(max_examples=25, deadline=None)
@given(pairs)
def test_bleu_module_is_sacrebleu_exactly(offline_modules: dict[str, Any], data: list[tuple[str, str]]) -> None:
    """The shipped BLEU module, and its bootstrap statistic on any case weights, give sacrebleu.corpus_bleu's score exactly."""
    predictions, references = [p for p, _ in data], [r for _, r in data]
    expected = sacrebleu.corpus_bleu(predictions, [references]).score
    assert textmetrics.compute(offline_modules["bleu"], predictions, references)["bleu"] == expected
    weights = np.array([[1] * len(data), [2] + [0] * (len(data) - 1)], dtype=np.int32)
    resampled = textmetrics.bleu_statistic(predictions, references)(weights)
    assert resampled[0] == expected
    assert resampled[1] == sacrebleu.corpus_bleu(predictions[:1] * 2, [references[:1] * 2]).score


USER_MODULE = '''
import datasets
import evaluate


class WordCount(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(description="words", citation="", inputs_description="",
                                   features=datasets.Features({"predictions": datasets.Value("string"),
                                                               "references": datasets.Value("string")}))

    def _compute(self, predictions, references):
        return {"words": float(sum(len(p.split()) for p in predictions))}
'''


def test_a_users_module_loads_by_path_only_at_its_locked_hash(tmp_path: Path) -> None:
    """A protocol's own module loads at the sha256 it names; once changed, it is refused before its code runs."""
    path = tmp_path / "word_count.py"
    path.write_text(USER_MODULE)
    digest = sha256_file(path)
    module = textmetrics.load_module(path, digest)
    assert textmetrics.compute(module, ["a b c", "d"], ["x", "y"]) == {"words": 4.0}
    path.write_text(USER_MODULE.replace("len(p.split())", "2 * len(p.split())"))
    with pytest.raises(CheckFailed, match="the protocol locks") as info:
        textmetrics.load_module(path, digest, where="p.yaml:12")
    assert info.value.where == "p.yaml:12"
