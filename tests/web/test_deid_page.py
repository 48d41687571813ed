"""De-identification batches in the browser: each batch's counts, actions, quarantine and key, never a patient value."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from starlette.testclient import TestClient

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.verify import verify
from qms.deid.verify_record import record_verification
from qms.deid.synthetic import write_synthetic_tree
from qms.store import open_store
from tests.web.browse import sign_in
from tests.web.site import Site

pytestmark = pytest.mark.verifies("QMS-REQ-163")


def test_a_recorded_batch_shows_its_counts_and_quarantine_without_phi(client: TestClient, site: Site, tmp_path: Path) -> None:
    """A real batch (synthetic DICOM, one file not DICOM) is listed with processed and quarantined counts; no source
    patient id or name appears on the page."""
    source = tmp_path / "in"
    files = write_synthetic_tree(source, 6, patients=2)
    (source / "broken.dcm").write_bytes(b"not a DICOM file")
    store = open_store(site.url, create=False)
    report = run_batch(source, tmp_path / "out", DeidKey(b"k" * 32), DeidOptions(), audit=(store, "demo.author"))
    checked = verify(tmp_path / "out", source)
    record_verification(store, "demo.author", tmp_path / "out", checked)
    store.dispose()
    assert report.processed == 6 and len(report.quarantined) == 1
    sign_in(client, "demo.reviewer")
    html = client.get("/deid").text
    row = html.split('id="deid-batches"')[1].split("</tr>")[1]
    assert f"deid-batch:{report.batch_id}" in row and "processed 6" in row and '<td class="fail">1</td>' in row
    assert report.key_id in row
    check = html.split('id="deid-verifications"')[1].split("</tr>")[1]
    assert report.batch_id[:12] in check and f"<td>{checked.files_checked}</td>" in check
    assert ("clean" if checked.clean else f"{len(checked.leaks)} leak(s)") in check
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert str(ds.PatientID) not in html and str(ds.PatientName) not in html
