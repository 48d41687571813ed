"""`qms selftest`: installation and operational qualification of qmskit where it runs (docs/selftest.md).

`suite` lists the checks and the qmskit requirement each verifies, `service.qualify` runs
them, renders the tool validation report and records it; the `iq_*` and `oq_*` modules are
the checks. Nothing is imported here, so a check module loads only what it needs.
"""

__all__: list[str] = []
