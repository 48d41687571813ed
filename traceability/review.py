"""`qms trace review ID...`: record that a person reviewed items' links against their parents.

Where the reviewed fingerprint lives: in the child's item file, next to the link
(`- NEED-001: 3f2a9c1e4b7d0a55`), as doorstop does. The file is what a pull request
shows, so a reviewer sees exactly which links were re-reviewed and the commit carries its
own suspect state: the trace of a commit depends on that commit and the test runs alone,
not on which store it is checked against. Who reviewed and when is not in the file but in
the store: a `link_review` record per link and a `trace.review` audit event, written in
the same transaction as the file (the file is replaced just before the commit, so a
failed write leaves neither). A link whose fingerprint was last reviewed by an unverified
name (before any identity was enrolled) is reviewed again by an authenticated one even
though its fingerprint is current: the gate refuses the unverified review (#14 item 7). The rewrite touches only the fingerprint text of each
link, so comments and layout survive, and it is re-parsed before it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlmodel import col, select

from qms import atomic, audit
from qms.actors import is_unverified
from qms.config import Project
from qms.errors import CheckFailed, QmsError
from qms.store import Store
from qms.traceability.design import Design, load_project_design
from qms.traceability.findings import Check
from qms.traceability.items import Item
from qms.traceability.parse import parse_text
from qms.traceability.records import LinkReview
from qms.yamlfile import documents

__all__ = ["ReviewResult", "latest_reviews", "review", "review_many"]


@dataclass(frozen=True)
class ReviewResult:
    item: str
    file: str
    reviewed: dict[str, tuple[str | None, str]]

    def to_json(self) -> dict[str, object]:
        return {"item": self.item, "file": self.file,
                "reviewed": {p: {"from": a, "to": b} for p, (a, b) in self.reviewed.items()}}


def _link_edits(text: str, rel: str, item_id: str, stamps: dict[str, str]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) character spans that set each link's fingerprint."""
    for node in documents(text, rel, character_marks=True):  # spans index characters of `text`
        if not isinstance(node, yaml.MappingNode):
            continue
        fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        id_node = fields.get("id")
        if not isinstance(id_node, yaml.ScalarNode) or id_node.value != item_id:
            continue
        parents = fields.get("parents")
        if not isinstance(parents, yaml.SequenceNode):
            return []
        edits = []
        for entry in parents.value:
            if isinstance(entry, yaml.ScalarNode) and entry.value in stamps:
                edits.append((entry.start_mark.index, entry.end_mark.index, f"{entry.value}: {stamps[entry.value]}"))
            elif isinstance(entry, yaml.MappingNode) and len(entry.value) == 1:
                key, value = entry.value[0]
                if key.value not in stamps:
                    continue
                if value.start_mark.index < value.end_mark.index:
                    edits.append((value.start_mark.index, value.end_mark.index, stamps[key.value]))
                else:
                    colon = text.index(":", key.end_mark.index)
                    edits.append((key.start_mark.index, colon + 1, f"{key.value}: {stamps[key.value]}"))
        return edits
    return []


def _rewrite(text: str, rel: str, item_id: str, stamps: dict[str, str]) -> str:
    new = text
    for start, end, replacement in sorted(_link_edits(text, rel, item_id, stamps), reverse=True):
        new = new[:start] + replacement + new[end:]
    after = {i.id: i for i in parse_text(new, rel).items}.get(item_id)
    got = {k.parent: k.reviewed for k in after.links} if after is not None else {}
    if any(got.get(p) != fp for p, fp in stamps.items()):
        raise QmsError("cannot rewrite the links of the item safely", where=f"{rel}", hint=(
            f"edit the parents of {item_id} by hand: `- PARENT: FINGERPRINT` ({', '.join(f'{p}: {fp}' for p, fp in stamps.items())})"))
    return new


def latest_reviews(store: Store) -> dict[tuple[str, str], LinkReview]:
    """The last review of each link (child, parent): who vouched for the fingerprint it carries now."""
    with store.reader() as session:
        rows = session.exec(select(LinkReview).order_by(col(LinkReview.created_at), col(LinkReview.id)))
        return {(r.item_id, r.parent_id): r for r in rows}


def _changes(design: Design, item_id: str, parents: tuple[str, ...],
             last: dict[tuple[str, str], LinkReview]) -> tuple[Item, dict[str, tuple[str | None, str]]]:
    """The item and its links that a review now stamps (link -> (fingerprint before, parent's now)); refusals raise."""
    item = design.items.get(item_id)
    if item is None:
        raise QmsError(f"no design item {item_id}", hint="see `qms trace` for the ids")
    broken = [f for f in design.findings if f.check in (Check.PARSE, Check.ENCODING) and (f.where or "").startswith(item.file + ":")]
    if broken:
        raise CheckFailed(f"{item.file} cannot be read cleanly: {broken[0].reason}", where=broken[0].where,
                          hint="fix the file first")
    unknown = [p for p in parents if p not in item.parents]
    if unknown:
        raise QmsError(f"{item_id} has no link to {', '.join(unknown)}", where=item.where,
                       hint=f"its parents: {', '.join(item.parents) or 'none'}")
    changes: dict[str, tuple[str | None, str]] = {}
    for link in item.links:
        parent = design.items.get(link.parent)
        if parents and link.parent not in parents:
            continue
        if parent is None:
            raise CheckFailed(f"parent {link.parent} does not exist", where=f"{item.file}:{link.line}",
                              hint="fix the link before reviewing it")
        prior = last.get((item_id, link.parent))
        if link.reviewed != parent.fingerprint or (
                prior is not None and prior.fingerprint == link.reviewed and is_unverified(prior.actor)):
            changes[link.parent] = (link.reviewed, parent.fingerprint)
    return item, changes


def _write_all(texts: dict[Path, tuple[str, str]]) -> None:
    """Replace each file (path -> (old text, new text)); if one write fails, the files already replaced get their old text."""
    done: list[Path] = []
    try:
        for path, (_, new) in texts.items():
            atomic.write_text(path, new)
            done.append(path)
    except BaseException:
        for path in done:
            atomic.write_text(path, texts[path][0])
        raise


def review(project: Project, store: Store, item_id: str, actor: str, parents: tuple[str, ...] = ()) -> ReviewResult:
    """Mark the links of `item_id` (or only those to `parents`) reviewed against the parents as they are now."""
    return review_many(project, store, (item_id,), actor, parents)[0]


def review_many(project: Project, store: Store, item_ids: Sequence[str], actor: str,
                parents: tuple[str, ...] = ()) -> list[ReviewResult]:
    """`review` of each item in turn, all or none: every item is checked before anything is written.

    Each item's review is its own record, as if reviewed alone: a `link_review` per link and a
    `trace.review` event per item, in one transaction with the rewritten files (the files are
    replaced last, so a failed write leaves neither). A parent's fingerprint does not depend on
    its links, so reviewing one item never changes what another's review stamps.
    """
    design: Design = load_project_design(project)
    last = {} if is_unverified(actor) else latest_reviews(store)
    planned = [_changes(design, item_id, parents, last) for item_id in dict.fromkeys(item_ids)]
    results = [ReviewResult(item.id, item.file, changes) for item, changes in planned]
    texts: dict[Path, tuple[str, str]] = {}
    for item, changes in planned:
        if changes:
            path: Path = project.root / item.file
            old, current = texts.get(path) or (path.read_bytes().decode("utf-8"),) * 2
            texts[path] = (old, _rewrite(current, item.file, item.id, {p: fp for p, (_, fp) in changes.items()}))
    if not texts:
        return results
    with store.transaction() as session:
        for result in results:
            if not result.reviewed:
                continue
            for parent_id, (before, after) in result.reviewed.items():
                session.add(LinkReview(item_id=result.item, parent_id=parent_id, fingerprint=after, previous=before,
                                       actor=actor))
            session.flush()
            audit.append(session, audit.EventSpec(
                actor, "trace.review", f"item:{result.item}",
                before=audit.state_digest({p: b for p, (b, _) in result.reviewed.items()}),
                after=audit.state_digest({p: a for p, (_, a) in result.reviewed.items()}),
                details=result.to_json(),
            ))
        _write_all(texts)
    return results
