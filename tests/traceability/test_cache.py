"""The design cache: keyed by file content, so it never serves an item that has changed."""

from __future__ import annotations

from pathlib import Path

from tests.traceability.trace_helpers import NEED, requirement, write_project
from qms.traceability import Check, load_project_design
from qms.traceability.design import CACHE_NAME


def test_a_changed_file_is_read_again_and_an_unchanged_one_is_not(project_dir: Path) -> None:
    """After an edit, the loaded item has the new text and fingerprint; unchanged content gives identical items."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    first = load_project_design(project)
    assert (project.records_dir / "cache" / CACHE_NAME).is_file()
    again = load_project_design(project)
    assert again.items == first.items and [f.text() for f in again.findings] == [f.text() for f in first.findings]
    need = project_dir / "design" / "n.yaml"
    need.write_text(need.read_text().replace("a thing", "something else"), encoding="utf-8")
    changed = load_project_design(project)
    assert changed.items["NEED-001"].text == "The user needs something else."
    assert changed.items["NEED-001"].fingerprint != first.items["NEED-001"].fingerprint


def test_a_corrupt_cache_is_ignored(project_dir: Path) -> None:
    """A damaged cache file is not trusted: the items are read from the design files."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-404")})
    load_project_design(project)
    (project.records_dir / "cache" / CACHE_NAME).write_text("{not json", encoding="utf-8")
    design = load_project_design(project)
    assert set(design.items) == {"NEED-001", "REQ-001"}
    assert [f.check for f in design.findings if f.check is Check.DANGLING_LINK] == [Check.DANGLING_LINK]
