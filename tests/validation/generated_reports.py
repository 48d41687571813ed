"""A synthetic table of generated and reference reports whose agreement and safety counts are known by construction.

Written for these tests: 40 cases of 20 patients (two cases each), short chest-radiograph
sentences, no report of any patient. The one identifier (case 5's "Dr. Smith" and phone
number) is invented, to be found by the PHI check.
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["EXPECTED", "SECTION", "write_table"]

EFFUSION_TP = ("Left pleural effusion. No pneumothorax.", "Left pleural effusion. No pneumothorax.")
PAIRS = (
    [EFFUSION_TP] * 12                                                              # 0-11: true positives, same side
    + [("Left pleural effusion.", "No pleural effusion.")] * 4                     # 12-15: missed
    + [("Right pleural effusion.", "Pleural effusion cannot be excluded.")] * 2    # 16-17: generated uncertain
    + [("No pleural effusion.", "No pleural effusion.")] * 16                      # 18-33: true negatives
    + [("No pleural effusion.", "Small right pleural effusion.")] * 4              # 34-37: false positives
    + [("Left pleural effusion.", "Right pleural effusion.")]                      # 38: true positive, wrong side
    + [("Pneumothorax on the right. No pleural effusion.", "No pneumothorax. No pleural effusion.")]  # 39: omission
)
EXPECTED = {
    "excluded": {"tp": 13, "fn": 4, "fp": 4, "tn": 17, "excluded": 2},
    "positive": {"tp": 15, "fn": 4, "fp": 4, "tn": 17, "excluded": 0},
    "negative": {"tp": 13, "fn": 6, "fp": 4, "tn": 17, "excluded": 0},
    "safety": {"phi": (1, 40), "laterality_contradiction": (1, 13), "nonexistent_prior": (2, 20),
               "critical_omission": (1, 1)},
}
"""Per uncertain-handling, pleural effusion's confusion counts; per safety check (flagged, eligible)."""

SECTION = """\
report_generation:
  predictions: data/generated.csv
  uncertain: {uncertain}
  findings: [pleural_effusion, pneumothorax]
  critical: [pneumothorax]
  ci: {{method: bootstrap-percentile, resamples: 300, seed: 11}}
  subgroups:
    attributes: [{{attribute: sex}}]
    findings: [pleural_effusion]
    min_size: 10
    bias:
      - {{id: RG-GAP, kind: max_gap, metric: sensitivity, attribute: sex, max: {gap}}}
  endpoints:
    - {{id: RG-SENS, metric: sensitivity, finding: pleural_effusion, role: primary, acceptance: "{acceptance}"}}
    - {{id: RG-SPEC, metric: specificity, finding: pleural_effusion, role: secondary, acceptance: "lower >= 0.5"}}
    - {{id: RG-PHI, metric: phi, role: primary, acceptance: "estimate <= 0.05"}}
    - {{id: RG-ROUGE, metric: rouge_l, role: secondary}}
    - {{id: RG-BLEU, metric: bleu, role: secondary, acceptance: "estimate >= 10"}}
    - {{id: RG-CRIT, metric: critical_omission, role: secondary}}
"""


def write_table(path: Path) -> Path:
    """The 40 cases as CSV: cases 1 and 3 (no prior) compare with a prior; case 5 names a doctor and a phone number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case_id", "patient_id", "generated", "reference", "has_prior", "sex"])
        w.writeheader()
        for i, (reference, generated) in enumerate(PAIRS):
            if i in (1, 3):
                generated += " Unchanged from the prior study."
            if i == 5:
                generated += " Discussed with Dr. Smith at 555-123-4567."
            w.writerow({"case_id": f"C{i:03d}", "patient_id": f"P{i // 2:03d}", "generated": generated,
                        "reference": reference, "has_prior": "true" if i % 2 == 0 else "false", "sex": "MF"[i // 2 % 2]})
    return path
