"""The committed IOD type table (qms.deid._iod_types): what its generator makes from highdicom's
tables of the standard, well-formed, with PS3.3's types for known attributes, and loaded
without highdicom."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydicom.datadict import tag_for_keyword

from qms.deid import _iod_types as table
from qms.deid.iod import iod_types
from qms.deid.profile import ActionTable

ROOT = Path(__file__).resolve().parents[2]
CT = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return int(tag)


def _key(*keywords: str) -> tuple[int, ...]:
    return tuple(_tag(k) for k in keywords)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_iod_types", ROOT / "scripts" / "gen_iod_types.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_table_is_what_the_generator_makes() -> None:
    """Regenerating from the installed highdicom 0.28.2 reproduces deid/_iod_types.py byte for byte."""
    if importlib.util.find_spec("highdicom") is None:
        pytest.skip("highdicom is not installed (pip install '.[tables]'); the committed table is checked below")
    generated = _generator().generate(None)
    assert generated == (ROOT / "deid" / "_iod_types.py").read_text(encoding="utf-8")


def test_table_is_well_formed() -> None:
    """Every entry has a PS3.3 type, ends in an attribute with a combined action, and every
    SOP Class names an IOD whose modules are all in the table."""
    combined = {tag for tag, rule in ActionTable(()).exact.items() if "/" in rule.action.value}
    assert len(combined) == 49
    for module, entries in table.MODULES.items():
        assert entries, module
        for key, kind in entries:
            assert kind in ("1", "1C", "2", "2C", "3"), (module, key)
            assert key[-1] in combined, (module, hex(key[-1]))
            assert all(isinstance(t, int) and 0 <= t <= 0xFFFFFFFF for t in key)
    for iod, modules in table.IODS.items():
        assert all(m in table.MODULES for m in modules), iod
    assert set(table.SOP_CLASSES.values()) <= set(table.IODS)
    assert table.PARTIAL_IODS <= set(table.IODS)
    assert len(table.SOP_CLASSES) >= 150 and CT in table.SOP_CLASSES
    assert "2026b" in table.EDITION and table.SOURCE == "highdicom 0.28.2"


@pytest.mark.parametrize(("sop_class", "keywords", "expected"), [
    (CT, ("PatientID",), "2"),                                   # Patient Module
    (CT, ("ContentDate",), "2C"),                                # General Image Module
    (CT, ("ContentTime",), "2C"),
    (CT, ("InstitutionName",), "3"),                             # General Equipment Module
    (CT, ("StationName",), "3"),
    (CT, ("AcquisitionDate",), "3"),                             # General Image Module
    (CT, ("SeriesDate",), "3"),                                  # General Series Module
    (CT, ("ContrastBolusAgent",), "2"),                          # Contrast/Bolus Module
    (CT, ("OtherPatientIDsSequence", "PatientID"), "1"),         # nested, by sequence path
    (CT, ("ContributingEquipmentSequence", "InstitutionName"), "3"),
    (ENHANCED_CT, ("ContentDate",), "1"),                        # Multi-frame Functional Groups: strictest
    (ENHANCED_CT, ("AcquisitionDateTime",), "1C"),               # Enhanced CT Image Module
    (SEGMENTATION, ("PerFrameFunctionalGroupsSequence", "DerivationImageSequence", "SourceImageSequence"), "2"),
    (RT_PLAN, ("RTPlanDate",), "2"),
    (COMPREHENSIVE_SR, ("ObservationDateTime",), "1C"),
])
def test_known_types(sop_class: str, keywords: tuple[str, ...], expected: str) -> None:
    """The table gives PS3.3's type for attributes of the CT, Enhanced CT, Segmentation, RT Plan and SR IODs."""
    types = iod_types(sop_class)
    assert types is not None
    *path, last = _key(*keywords)
    assert types.type_of(tuple(path), last) == expected


def test_an_attribute_the_iod_lacks_is_type_3_only_at_the_top_level() -> None:
    """A top-level attribute a complete IOD lacks counts as Type 3; an unlisted nested path is unknown."""
    types = iod_types(CT)
    assert types is not None and types.complete
    assert types.type_of((), _tag("TreatmentDate")) == "3"
    assert types.type_of(_key("ContentSequence"), _tag("InstitutionName")) is None


def test_unknown_sop_classes_have_no_table() -> None:
    """A private, retired-unknown or empty SOP Class UID has no IOD types (the caller falls back)."""
    assert iod_types("1.3.6.1.4.1.99999.1.2.3") is None
    assert iod_types("") is None
    assert iod_types(CT + "\x00") is iod_types(CT)  # a padded value is the same class


def test_qms_deid_never_imports_highdicom() -> None:
    """De-identifying a CT with the IOD table loaded leaves highdicom unimported (it is only a generator input)."""
    code = ("import sys; from qms.deid.iod import iod_types; assert iod_types('" + CT + "') is not None; "
            "import qms.deid.dataset; print('highdicom' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
