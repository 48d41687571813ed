"""The one YAML reader: plain values with their lines, and every problem named at file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import ConfigError, QmsError
from qms.yamlfile import documents, load, load_records, parse


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "file.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_values_carry_their_lines(tmp_path: Path) -> None:
    """Every value's path maps to its line; a path without a line falls back to its nearest parent's."""
    doc = load(_write(tmp_path, "a: 1\nb:\n  - x: 2\n    y: [1, 2]\n"))
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": [1, 2]}]}
    path = tmp_path / "file.yaml"
    assert doc.where(("b", 0, "y")) == f"{path}:4" and doc.where(("b", 0, "missing")) == f"{path}:3"
    assert doc.where(()) == f"{path}:1"


@pytest.mark.parametrize(("content", "line", "words"), [
    ("a: 1\nb: [1\nc: 2\n", 2, "not valid YAML"),  # the unclosed [ begins on line 2
    ("id: a\ntitle x\ntext: t\n", 2, "stopped at line 3"),  # the key missing its colon is on line 2
    ("a: 1\nb: \"é\"\nc: x\x01\n", 3, "not valid YAML"),
    (b"a: 1\nb: \xff\n", 2, "not UTF-8 text (byte 0xff)"),
    ("a: 1\nb: 2\na: 3\n", 3, "key 'a' appears twice"),
])
def test_problems_name_file_and_line(tmp_path: Path, content: str | bytes, line: int, words: str) -> None:
    """A syntax error, a control character, a byte that is not UTF-8 and a repeated key each name file:line."""
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        load(path)
    assert info.value.where == f"{path}:{line}"


def test_the_caller_chooses_the_error_type(tmp_path: Path) -> None:
    """A capability keeps its own error type: the reader raises the class it is given."""
    class CardError(QmsError):
        pass

    with pytest.raises(CardError):
        load(_write(tmp_path, "a: [\n"), CardError)


def test_documents_before_a_syntax_error_are_read(tmp_path: Path) -> None:
    """A stream yields each document in order; a later syntax error still names its line."""
    seen = []
    with pytest.raises(ConfigError) as info:
        for node in documents("a: 1\n---\nb: 2\n---\nc: [\n", "design/x.yaml"):
            seen.append(node.start_mark.line + 1)
    assert seen == [1, 3] and info.value.where == "design/x.yaml:6"


def test_records_come_with_their_lines(tmp_path: Path) -> None:
    """`load_records` gives each mapping listed under the key with its line, and refuses an entry that is not one."""
    path = _write(tmp_path, "# register\nanomalies:\n  - id: A-1\n  - id: A-2\n")
    assert load_records(path, "anomalies") == [(3, {"id": "A-1"}), (4, {"id": "A-2"})]
    _write(tmp_path, "anomalies:\n  - id: A-1\n  - just text\n")
    with pytest.raises(ConfigError, match="must be a mapping") as info:
        load_records(path, "anomalies")
    assert info.value.where == f"{path}:3"


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.text(min_size=1, max_size=6), plain_values, max_size=4))
def test_values_are_those_of_safe_load(data: dict[str, object]) -> None:
    """Whatever the document, the reader builds exactly the values `yaml.safe_load` builds."""
    text = yaml.safe_dump(data, allow_unicode=True)
    assert parse(text, "x.yaml").data == yaml.safe_load(text)
