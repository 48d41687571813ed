"""ROUGE-L F-measure (Lin 2004) through Google's `rouge_score`, as a local `evaluate` module.

qmskit ships this file as package data and loads it by path (`qms.validation.textmetrics`),
so nothing is fetched from the Hub at run time. The score is `rouge_score.RougeScorer`'s
rougeL F-measure of each (prediction, reference) pair; aggregated, their mean.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
from rouge_score import rouge_scorer

_DESCRIPTION = "ROUGE-L F-measure per pair (rouge_score.RougeScorer, stemming as asked); aggregated: their mean."


class RougeL(evaluate.Metric):  # type: ignore[misc]
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="Lin, C.-Y. (2004). ROUGE. ACL Workshop.", inputs_description=_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions: list[str], references: list[str], use_stemmer: bool = False,
                 use_aggregator: bool = True) -> dict[str, Any]:
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
        scores = [scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references, strict=True)]
        if not use_aggregator:
            return {"rouge_l": scores}
        return {"rouge_l": sum(scores) / len(scores) if scores else float("nan")}
