"""Corpus BLEU (Papineni et al. 2002) through `sacrebleu`, as a local `evaluate` module.

qmskit ships this file as package data and loads it by path (`qms.validation.textmetrics`),
so nothing is fetched from the Hub at run time. The score is `sacrebleu.corpus_bleu` with
one reference per prediction and sacrebleu's defaults (13a tokenizer, exp smoothing), on
its 0-100 scale.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
import sacrebleu

_DESCRIPTION = "Corpus BLEU of predictions against one reference each (sacrebleu.corpus_bleu, defaults), 0-100."


class Bleu(evaluate.Metric):  # type: ignore[misc]
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="Post, M. (2018). A Call for Clarity in Reporting BLEU Scores. WMT.",
            inputs_description=_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions: list[str], references: list[str]) -> dict[str, Any]:
        result = sacrebleu.corpus_bleu(predictions, [references])
        return {"bleu": float(result.score), "brevity_penalty": float(result.bp),
                "precisions": [float(p) for p in result.precisions]}
