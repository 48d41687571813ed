"""Reading design item files: bad input becomes findings that name the file and line."""

from __future__ import annotations

from pathlib import Path

from qms.traceability import Check, load_design
from qms.traceability.items import DEFAULT_PREFIXES
from qms.traceability.parse import parse_bytes, parse_text


def _checks(text: str) -> list[tuple[str, str | None]]:
    return [(f.check.value, f.where) for f in parse_text(text, "design/x.yaml").findings]


def test_malformed_yaml_names_the_file_and_line() -> None:
    """A YAML syntax error is a parse finding at the file and line where the YAML broke."""
    found = parse_text("id: REQ-001\ntype: requirement\ntitle: [unclosed\ntext: t\n", "design/x.yaml").findings
    assert [f.check for f in found] == [Check.PARSE]
    assert found[0].where is not None and found[0].where.startswith("design/x.yaml:")
    assert int(found[0].where.rsplit(":", 1)[1]) in (3, 4)


def test_non_utf8_text_names_the_line_of_the_bad_byte() -> None:
    """A file that is not UTF-8 gives an encoding finding on the line of the first undecodable byte, and no items."""
    parsed = parse_bytes(b"id: REQ-001\ntype: requirement\ntitle: caf\xe9\n", "design/x.yaml")
    assert parsed.items == ()
    assert [(f.check, f.where) for f in parsed.findings] == [(Check.ENCODING, "design/x.yaml:3")]


def test_unknown_and_repeated_fields_are_named() -> None:
    """A misspelt field and a field given twice are findings on their own lines."""
    text = "id: REQ-001\ntype: requirement\ntitle: t\ntext: t\nparent: NEED-001\ntitle: again\n"
    assert _checks(text) == [("parse", "design/x.yaml:6"), ("unknown_field", "design/x.yaml:5")]


def test_an_unknown_type_and_a_missing_id_are_findings() -> None:
    """An item without an id, or of an unknown type, is reported and not loaded."""
    parsed = parse_text("type: requirement\ntitle: t\n---\nid: X-1\ntype: wish\ntitle: t\n", "design/x.yaml")
    assert parsed.items == ()
    assert [(f.check.value, f.where) for f in parsed.findings] == [("missing_field", "design/x.yaml:1"),
                                                                     ("bad_field", "design/x.yaml:4")]


def test_links_keep_their_lines_and_reviewed_fingerprints() -> None:
    """Each parent link records its line and, when written `- ID: FP`, the fingerprint it was reviewed at."""
    item = parse_text("id: REQ-1\ntype: requirement\ntitle: t\ntext: t\nparents:\n  - NEED-1\n  - NEED-2: abc\n",
                      "design/x.yaml").items[0]
    assert [(k.parent, k.reviewed, k.line) for k in item.links] == [("NEED-1", None, 6), ("NEED-2", "abc", 7)]


def test_documents_that_are_not_design_items_are_left_alone(tmp_path: Path) -> None:
    """A document with none of the item fields (such as the anomaly list) is neither an item nor a finding."""
    (tmp_path / "design").mkdir()
    (tmp_path / "design" / "anomalies.yaml").write_text("anomalies:\n  - id: ANOM-1\n", encoding="utf-8")
    design = load_design(tmp_path, tmp_path / "design", DEFAULT_PREFIXES, "B")
    assert design.items == {} and design.findings == []
