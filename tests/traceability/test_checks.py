"""Checks over the design graph: ids, links, link types, fields, risk, safety class."""

from __future__ import annotations

from pathlib import Path

from tests.traceability.trace_helpers import NEED, QMS_TOML, requirement, write_project
from qms.traceability import Check, load_project_design

HAZARD = """id: HAZ-001
type: hazard
title: A hazard
text: Something can go wrong.
hazardous_situation: The patient is exposed.
harm: Injury.
severity: {s}
probability: 4
residual_severity: {s}
residual_probability: {p}
{extra}"""


def _found(project_dir: Path, design: dict[str, str], toml: str = QMS_TOML) -> list[tuple[str, str | None, str | None]]:
    found = load_project_design(write_project(project_dir, design, toml)).findings
    return sorted((f.check.value, f.item, f.where) for f in found if f.check is not Check.SUSPECT_LINK)


def test_duplicate_ids_across_files_name_both_places(project_dir: Path) -> None:
    """The same id in two files is one duplicate_id finding at the second, naming the first."""
    design = load_project_design(write_project(project_dir, {"a.yaml": NEED, "b.yaml": "# x\n" + NEED}))
    dupes = [f for f in design.findings if f.check is Check.DUPLICATE_ID]
    assert [(f.item, f.where) for f in dupes] == [("NEED-001", "design/b.yaml:2")]
    assert "design/a.yaml:1" in dupes[0].reason


def test_dangling_links_and_wrong_link_types_are_found(project_dir: Path) -> None:
    """A link to a missing item is dangling, and a requirement under a hazard is a link type that makes no sense."""
    haz = HAZARD.format(s=2, p=1, extra="")
    found = _found(project_dir, {"n.yaml": NEED, "h.yaml": haz, "r.yaml": requirement("REQ-001", "NEED-001", "NEED-404", "HAZ-001")})
    assert ("dangling_link", "REQ-001", "design/r.yaml:7") in found
    assert ("link_type", "REQ-001", "design/r.yaml:8") in found


def test_missing_required_fields_are_named(project_dir: Path) -> None:
    """A requirement without parents or text, and an architecture item without a safety class, are missing fields."""
    arch = "id: ARCH-001\ntype: architecture\ntitle: A\ntext: t\nparents: [REQ-001]\n"
    found = _found(project_dir, {"r.yaml": "id: REQ-001\ntype: requirement\ntitle: t\n", "a.yaml": arch})
    assert {(c, i) for c, i, _ in found} >= {("missing_field", "REQ-001"), ("missing_field", "ARCH-001")}
    assert sum(1 for c, i, _ in found if (c, i) == ("missing_field", "REQ-001")) == 2


def test_id_prefixes_follow_the_configuration(project_dir: Path) -> None:
    """With id_prefixes setting requirement to SRS, REQ-001 is reported and SRS-001 is accepted."""
    toml = QMS_TOML + 'id_prefixes = { requirement = "SRS" }\n'
    found = _found(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001") + "---\n"
                                 + requirement("SRS-001", "NEED-001")}, toml)
    assert [(c, i) for c, i, _ in found] == [("id_prefix", "REQ-001")]


def test_an_unacceptable_residual_risk_is_a_finding(project_dir: Path) -> None:
    """Residual risk severity 4 x probability 3 is not acceptable under the default ISO 14971 policy."""
    found = _found(project_dir, {"h.yaml": HAZARD.format(s=4, p=3, extra="")})
    assert [(c, i) for c, i, _ in found] == [("residual_risk", "HAZ-001")]


def test_alarp_needs_a_benefit_risk_justification(project_dir: Path) -> None:
    """A residual risk in the ALARP band is a finding without benefit_risk and accepted with it."""
    bare = _found(project_dir / "a", {"h.yaml": HAZARD.format(s=3, p=2, extra="")})
    justified = _found(project_dir / "b", {"h.yaml": HAZARD.format(s=3, p=2, extra="benefit_risk: Faster care.\n")})
    assert [c for c, _, _ in bare] == ["residual_risk"] and justified == []


def test_a_safety_class_above_the_system_class_is_a_finding(project_dir: Path) -> None:
    """A class C requirement in a class B system is reported (IEC 62304 §4.3)."""
    text = requirement("REQ-001", "NEED-001").replace("type: requirement\n", "type: requirement\nsafety_class: C\n")
    found = _found(project_dir, {"n.yaml": NEED, "r.yaml": text})
    assert [(c, i) for c, i, _ in found] == [("bad_field", "REQ-001")]


def test_a_cycle_is_one_finding_naming_its_members(project_dir: Path) -> None:
    """Requirements that derive from each other in a loop give one cycle finding naming all of them, the loop closed."""
    design = {"n.yaml": NEED, "r.yaml": "---\n".join([
        requirement("REQ-001", "NEED-001", "REQ-003"), requirement("REQ-002", "REQ-001"), requirement("REQ-003", "REQ-002")])}
    cycles = [f for f in load_project_design(write_project(project_dir, design)).findings if f.check is Check.CYCLE]
    assert len(cycles) == 1 and cycles[0].reason.endswith("REQ-001 -> REQ-002 -> REQ-003 -> REQ-001")


def test_a_field_finding_names_the_field_line(project_dir: Path) -> None:
    """A bad severity or safety class is reported at the line of that field, not at the item's first line."""
    text = requirement("REQ-001", "NEED-001").replace("type: requirement\n", "type: requirement\nsafety_class: Z\n")
    found = _found(project_dir, {"n.yaml": NEED, "r.yaml": text, "h.yaml": HAZARD.format(s=9, p=1, extra="")})
    assert ("bad_field", "REQ-001", "design/r.yaml:3") in found and ("bad_field", "HAZ-001", "design/h.yaml:7") in found


def test_messages_use_an_before_a_vowel(project_dir: Path) -> None:
    """A finding about an architecture item reads "an architecture", never "a architecture"."""
    arch = "id: ARC-001\ntype: architecture\ntitle: A\ntext: t\n"
    found = load_project_design(write_project(project_dir, {"a.yaml": arch})).findings
    reasons = [f.reason for f in found if f.check is Check.ID_PREFIX]
    assert reasons and reasons[0].startswith("an architecture id") and not any("a architecture" in f.reason for f in found)


def test_an_id_with_letters_after_the_number_is_refused(project_dir: Path) -> None:
    """`NEED-001X` does not look like NEED-NNN: an id_prefix finding naming the id, as for `need-7`; NEED-1.2 is fine."""
    bad = NEED.replace("NEED-001", "NEED-001X")
    found = load_project_design(write_project(project_dir, {"n.yaml": bad, "m.yaml": NEED.replace("NEED-001", "NEED-1.2")}))
    reasons = [(f.item, f.reason) for f in found.findings if f.check is Check.ID_PREFIX]
    assert [i for i, _ in reasons] == ["NEED-001X"] and "not NEED-001X" in reasons[0][1]


def test_a_title_that_is_not_text_is_reported_once(project_dir: Path) -> None:
    """A title written as a list is one bad_field finding at its line, not also a missing title."""
    text = "id: NEED-001\ntype: need\ntitle: [a, b]\ntext: The user needs a thing.\n"
    found = _found(project_dir, {"n.yaml": text})
    assert [(c, w) for c, i, w in found if c in ("bad_field", "missing_field")] == [("bad_field", "design/n.yaml:3")]


def test_a_hazard_with_no_risk_control_hints_to_add_one(project_dir: Path) -> None:
    """A hazard nothing mitigates tells the user to add a risk control with the hazard as its parent."""
    from qms.traceability.matrix import build_trace

    design = load_project_design(write_project(project_dir, {"h.yaml": HAZARD.format(s=2, p=1, extra="")}))
    gaps = [g for g in build_trace(design, {}, None).gaps if g.check is Check.HAZARD_UNVERIFIED]
    assert [g.reason for g in gaps] == ["no risk control mitigates this hazard"]
    assert "parents: [HAZ-001]" in gaps[0].hint
