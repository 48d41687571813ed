"""OQ: the AUROC and its standard error on a published example with known answers (QMS-REQ-006, QMS-RC-005).

Hanley & McNeil, "The meaning and use of the area under a receiver operating
characteristic (ROC) curve", Radiology 1982;143:29-36, Table 1: CT images of 109 patients
rated on a five-point scale (1 definitely normal .. 5 definitely abnormal). Published:
area 0.893, standard error 0.032.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qms.findings import Finding
from qms.selftest.checks import Evidence
from qms.validation.auroc import auroc, delong_se, hanley_mcneil_se

__all__ = ["ABNORMAL", "NORMAL", "PUBLISHED_AREA", "PUBLISHED_SE", "check_statistics"]

NORMAL = (33, 6, 6, 11, 2)
ABNORMAL = (3, 2, 2, 11, 33)
PUBLISHED_AREA = 0.893
PUBLISHED_SE = 0.032


def check_statistics(check: str, workspace: Path) -> tuple[list[Finding], Evidence]:
    ratings = np.arange(1, 6, dtype=np.float64)
    scores = np.r_[np.repeat(ratings, NORMAL), np.repeat(ratings, ABNORMAL)]
    y = np.r_[np.zeros(sum(NORMAL), dtype=np.int64), np.ones(sum(ABNORMAL), dtype=np.int64)]
    area = auroc(scores, y)
    se = hanley_mcneil_se(area, n_abnormal=sum(ABNORMAL), n_normal=sum(NORMAL))
    _, delong = delong_se(scores, y)
    findings = []
    if round(area, 3) != PUBLISHED_AREA:
        findings.append(Finding(check, "AUROC", f"area {area:.4f}, published {PUBLISHED_AREA}",
                                "the statistics libraries give a wrong answer here: do not use this environment"))
    if round(se, 3) != PUBLISHED_SE:
        findings.append(Finding(check, "AUROC SE", f"standard error {se:.4f}, published {PUBLISHED_SE}",
                                "the statistics libraries give a wrong answer here: do not use this environment"))
    if abs(delong - PUBLISHED_SE) >= 0.003:
        findings.append(Finding(check, "DeLong SE", f"DeLong's standard error {delong:.4f} is far from {PUBLISHED_SE}"))
    return findings, {"cases": str(len(y)), "area": f"{area:.4f}", "Hanley-McNeil SE": f"{se:.4f}",
                      "DeLong SE": f"{delong:.4f}"}
