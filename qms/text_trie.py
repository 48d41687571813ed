"""A set of words as one regular expression shaped as a character trie (prefix tree).

A flat alternation of a thousand terms makes the regex engine try every term at every
position of a text; the trie makes it test each prefix once: at a node only one branch can
match the next character. The optional end of a word is tried after the branches, so the
longest word wins at a position, as it does in a longest-first alternation. The report
labeller (`qms.validation.labeler`) and the report-text de-identifier's clinical terms
(`qms.deid.text.detect`) build their expressions with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["alternation"]

_Node = dict[str, "_Node"]


def alternation(words: Iterable[str]) -> str:
    """The words as one expression matching the longest of them at a position (no group is captured)."""
    trie: _Node = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _pattern(trie)


def _pattern(node: _Node) -> str:
    branches = [re.escape(ch) + _pattern(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" not in node:
        return body
    return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
