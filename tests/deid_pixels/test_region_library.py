"""The CTP burned-in annotation library: parsing the shipped script and rejecting malformed rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.deid.pixels import Rectangle, RegionLibrary, RegionLibraryError, default_library

REFERENCE = Path("/work/shared/reference/dicom/ctp-burned-in-annotation-library.script")


def test_shipped_library_has_every_rule() -> None:
    """The shipped RSNA CTP library parses into its 52 rules and 62 rectangles, in file order."""
    library = default_library()
    assert len(library.rules) == 52
    assert sum(len(rule.rectangles) for rule in library.rules) == 62
    lines = [int(rule.where.rsplit(":", 1)[1]) for rule in library.rules]
    assert lines == sorted(lines)


def test_shipped_copy_matches_reference() -> None:
    """The copy in qms.deid.data is byte-identical to the reference script it cites."""
    if not REFERENCE.exists():
        pytest.skip("the steering checkout's reference folder is not present (CI)")
    from importlib import resources

    shipped = resources.files("qms.deid").joinpath("data", "ctp-burned-in-annotation-library.script").read_bytes()
    assert shipped == REFERENCE.read_bytes()


def test_known_rules_parse_with_their_rectangles() -> None:
    """Known rules keep their section, title, condition and every rectangle of a multi-rectangle line."""
    by_line = {int(rule.where.rsplit(":", 1)[1]): rule for rule in default_library().rules}
    canon = next(rule for rule in by_line.values() if "CXDI" in rule.condition_text)
    assert canon.title.startswith("CR / DR")
    assert canon.rectangles == (Rectangle(0, 0, 2208, 80), Rectangle(0, 2512, 2208, 80))
    gemini = [rule for rule in by_line.values() if "GEMINI" in rule.condition_text]
    assert [rule.rectangles for rule in gemini] == [
        (Rectangle(0, 0, 125, 50),),
        (Rectangle(0, 0, 140, 55),),
        (Rectangle(0, 0, 100, 25),),
    ]
    antares = next(rule for rule in by_line.values() if "ANTARES" in rule.condition_text)
    assert antares.rectangles == (Rectangle(0, 0, 1024, 60), Rectangle(200, 60, 20, 20), Rectangle(800, 65, 104, 14))
    siemens_us = next(rule for rule in by_line.values() if "SC2000" in rule.condition_text)
    assert siemens_us.title.startswith("US / Siemens")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("Title\n{ Modality.equals(\"CT\")\n(0,0,1,1)\n", 2, "never closed"),
        ("Title\n{ Modality.equals(\"CT\") }\n(0,0,1)\n", 3, "malformed rectangle"),
        ("Title\n{ Modality.equals(\"CT\") }\nnext title\n", 2, "no rectangle"),
        ("Title\n\n{ NotAKeyword.equals(\"CT\") }\n(0,0,1,1)\n", 3, "unknown DICOM keyword 'NotAKeyword'"),
        ("{ Modality.sounds(\"CT\") }\n(0,0,1,1)\n", 1, "unknown method 'sounds'"),
        ("{ Modality.equals(CT) }\n(0,0,1,1)\n", 1, "takes a quoted string"),
        ("{ Modality.equals(\"CT\") * }\n(0,0,1,1)\n", 1, "expected a condition"),
        ("{ (Modality.equals(\"CT\") }\n(0,0,1,1)\n", 1, "expected ')'"),
        ("a title with a stray }\n", 1, "without an opening"),
        ('{ Modality.matches("C[T") }\n(0,0,1,1)\n', 1, "regular expression"),
        ('Title { Modality.equals("CT") }\n(0,0,1,1)\n', 1, "must open its line"),
    ],
)
def test_malformed_rule_names_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    """A malformed rule is rejected with the file and line of the rule and what is wrong with it."""
    path = tmp_path / "bad.script"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegionLibraryError) as caught:
        RegionLibrary.from_path(path)
    assert caught.value.where == f"{path}:{line}"
    assert message in caught.value.message


def test_unreadable_library_names_the_file(tmp_path: Path) -> None:
    """A library that cannot be read is reported with its path."""
    missing = tmp_path / "missing.script"
    with pytest.raises(RegionLibraryError) as caught:
        RegionLibrary.from_path(missing)
    assert caught.value.where == str(missing)


def test_rectangles_on_the_condition_line_and_after_blank_lines() -> None:
    """Rectangles may follow the closing brace on its line, come after blank lines, and share a line."""
    text = 'T\n{ Modality.equals("US") } (1,2,3,4)\n(5,6,7,8) (9,10,11,12)\nU\n{ Modality.equals("CT") }\n\n (0,0,2,2)\n'
    library = RegionLibrary.from_text(text, "inline")
    assert library.rules[0].rectangles == (Rectangle(1, 2, 3, 4), Rectangle(5, 6, 7, 8), Rectangle(9, 10, 11, 12))
    assert library.rules[1].rectangles == (Rectangle(0, 0, 2, 2),)
    assert library.rules[1].title == "U"
