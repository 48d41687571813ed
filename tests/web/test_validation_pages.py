"""Validation runs in the browser: the verdict, every endpoint's interval, the bias criteria and the subgroup table."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qms.store import open_store
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import make_project
from tests.web.browse import sign_in
from tests.web.site import Site

pytestmark = pytest.mark.verifies("QMS-REQ-163")


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


def test_run_figures_are_served_as_the_run_drew_them(client: TestClient, site: Site, tmp_path: Path) -> None:
    """The run's ROC (with its band), calibration and subgroup forest plots are PNGs from an authenticated route, each
    shown only while its bytes are those the run recorded; the subgroup table gives each group's interval."""
    store = open_store(site.url, create=False)
    protocol = make_project(tmp_path / "validation", 60)
    result = lock_and_run(store, protocol, tmp_path / "validation")
    store.dispose()
    run_id = result["run_id"]
    figures = sorted(n for n in result["artefacts"] if n.endswith(".png"))
    assert {"roc.png", "calibration.png", "forest-auroc.png"} <= set(figures)
    assert client.get(f"/validation/{run_id}/figures/roc.png").status_code == 303  # not signed in: to sign-in
    sign_in(client, "demo.reviewer")
    page = client.get(f"/validation/{run_id}").text
    for name in figures:
        assert f'src="/validation/{run_id}/figures/{name}"' in page
        png = client.get(f"/validation/{run_id}/figures/{name}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    group = next(g for g in result["subgroups"]["groups"] if g["attribute"] == "PatientSex" and g["metrics"].get("auroc"))
    auroc = group["metrics"]["auroc"]
    assert f"{auroc['estimate']:.4f} [{auroc['lower']:.4f}, {auroc['upper']:.4f}]" in page
    assert client.get(f"/validation/{run_id}/figures/protocol.txt").status_code == 404
    (tmp_path / "validation" / "runs" / run_id / "roc.png").write_bytes(b"\x89PNG not the run's figure")
    changed = client.get(f"/validation/{run_id}/figures/roc.png")
    assert changed.status_code == 400 and "differs from the one the run recorded" in changed.text
