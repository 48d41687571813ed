"""A bias protocol with a post-market plan, for the monitoring tests (the synthetic validation protocol, extended)."""

from __future__ import annotations

from tests.validation.synthetic import PROTOCOL

OWNER = "Clinical safety officer (SOP-PMS-002)"
PLAN = f"""post_market:
  metrics: [sensitivity, flag_rate]
  frequency: every 7 days, and after every 400 flagged studies
  trigger: >-
    sensitivity of any group below 0.5 on its lower 95 % bound, or a flag-rate gap between manufacturers above 0.20
  owner: {OWNER}
"""
BIAS_PROTOCOL = (PROTOCOL.replace("metrics: [auroc, sensitivity]\n", "metrics: [auroc, sensitivity, flag_rate]\n")
                 .replace("    - attribute: site\n", "    - attribute: site\n    - attribute: Manufacturer\n")
                 + PLAN)
