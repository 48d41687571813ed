"""Validation runs in the browser: the verdict, every endpoint's interval, the bias criteria and the subgroup table."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from qms.store import open_store
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import make_project
from tests.web.browse import sign_in
from tests.web.site import Site


def test_a_recorded_run_is_shown_with_intervals_and_subgroups(client: TestClient, site: Site, tmp_path: Path) -> None:
    """A run of a locked protocol (synthetic cases) is listed with its verdict; its page shows intervals and subgroups."""
    store = open_store(site.url, create=False)
    protocol = make_project(tmp_path / "validation", 60)
    result = lock_and_run(store, protocol, tmp_path / "validation")
    store.dispose()
    sign_in(client, "demo.reviewer")
    listing = client.get("/validation").text
    run_id = listing.split('href="/validation/')[1].split('"')[0]
    page = client.get(f"/validation/{run_id}").text
    auroc = next(e for e in result["endpoints"] if e["id"] == "AUROC")
    assert f"[{auroc['lower']:.4f}, {auroc['upper']:.4f}]" in page
    assert "<td>PatientSex</td><td>F</td>" in page and f">{result['verdict']}</strong>" in page
