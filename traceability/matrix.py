"""The trace matrix: need -> requirement -> architecture -> test -> result, and hazard ->
risk control -> requirement -> test; with every gap as a finding.

A requirement or risk control is verified only when it has a linked test and every linked
test's latest result passed in a run of HEAD on a clean tree. Anything else (no test, a
failed, skipped or stale result) makes it red, and every ancestor is then not fully
verified, as is any item one of whose child links is suspect or that sits on a cycle.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from qms.config import Project
from qms.findings import Finding, Severity
from qms.store import Store
from qms.traceability.cache import REPORT_NAME, read_report, report_key, write_report
from qms.traceability.design import STAT_NAME, Design, design_files, load_project_design
from qms.traceability.filestat import scan
from qms.traceability.findings import Check
from qms.traceability.gitstate import head_commit
from qms.traceability.items import NEEDS_TEST, VERIFIABLE, Item, ItemType
from qms.traceability.report import Status, TestEvidence, TraceReport, TraceRow
from qms.traceability.runs import LatestResult, Outcome, RunScope, latest_results, newest_run_scope, results_key
from qms.traceability.testsource import cached_suspect_tests, suspect_tests

__all__ = ["build_trace", "trace"]

_RANK = {s: n for n, s in enumerate(Status)}
_PASSED = {Outcome.PASSED}
_SKIPPED = {Outcome.SKIPPED, Outcome.XFAILED}


def _judge(result: LatestResult, head: str | None) -> TestEvidence:
    if not result.at(head):
        problem = Check.DIRTY_TREE if head is not None and result.commit == head else Check.NOT_AT_HEAD
        return TestEvidence(result, Status.STALE, problem)
    if result.outcome in _PASSED:
        return TestEvidence(result, Status.VERIFIED, None)
    if result.outcome in _SKIPPED:
        return TestEvidence(result, Status.SKIPPED, Check.TEST_SKIPPED)
    return TestEvidence(result, Status.FAILED, Check.TEST_FAILED)


_REASONS = {
    Check.DIRTY_TREE: ("test {t} ran on a dirty tree", "commit or stash your changes, then run `qms test`"),
    Check.NOT_AT_HEAD: ("test {t} has no result at HEAD ({head})", "run `qms test` at this commit"),
    Check.TEST_SKIPPED: ("test {t} was {o}", "make the test run; a skipped test verifies nothing"),
    Check.TEST_FAILED: ("test {t} {o}", "fix the code or the test, then run `qms test`"),
}
_NO_COMMIT = ("test {t} has no result at a commit: the project is not in git, or nothing is committed yet",
              "results count only for a commit: `git init` if needed, commit your work, then run `qms test`")


class _Tracer:
    def __init__(self, design: Design, results: Mapping[str, LatestResult], head: str | None) -> None:
        self.design = design
        self.head = head
        self.gaps: list[Finding] = list(design.findings)
        self.tests: dict[str, list[TestEvidence]] = {}
        self.suspect = {(f.item, f.where) for f in design.findings if f.check == Check.SUSPECT_LINK}
        self.cyclic = design.cyclic
        self.status: dict[str, Status] = {}
        for result in results.values():
            self._link(result)

    def _link(self, result: LatestResult) -> None:
        if not result.verifies:
            self.gaps.append(Finding(Check.UNLINKED_TEST, None, "the test verifies no design item",
                                     'add @pytest.mark.verifies("REQ-...") if it verifies one', where=result.nodeid,
                                     severity=Severity.WARNING))
        evidence = _judge(result, self.head)
        for item_id in result.verifies:
            item = self.design.items.get(item_id)
            if item is None or item.type not in VERIFIABLE:
                self.gaps.append(Finding(Check.ORPHAN_TEST, item_id,
                                         f"the test verifies {item_id}, which is not a requirement, risk control or "
                                         "architecture item of the design", "fix the marker or restore the item",
                                         where=result.nodeid))
                continue
            self.tests.setdefault(item_id, []).append(evidence)

    def _suspect(self, child: Item, parent: str) -> bool:
        return any((child.id, f"{child.file}:{k.line}") in self.suspect for k in child.links if k.parent == parent)

    def own(self, item: Item) -> Status:
        evidence = self.tests.get(item.id, [])
        if not evidence:
            return Status.UNTESTED if item.type in NEEDS_TEST else Status.NOT_REQUIRED
        return max((e.status for e in evidence), key=_RANK.__getitem__)

    def full(self, item_id: str) -> Status:
        """Status of an item and everything under it (children first, iteratively)."""
        stack = [(item_id, False)]
        while stack:
            node, expanded = stack.pop()
            if node in self.status:
                continue
            children = self.design.children.get(node, [])
            if not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in children if c not in self.status and c not in self.cyclic)
                continue
            item = self.design.items[node]
            own = self.own(item)
            incomplete = node in self.cyclic or any(
                self._suspect(self.design.items[c], node) or not self.status.get(c, Status.INCOMPLETE).ok
                for c in children)
            if item.type in (ItemType.NEED, ItemType.HAZARD) and not children:
                incomplete = True
            self.status[node] = own if not own.ok else (Status.INCOMPLETE if incomplete else own)
            if self.status[node] is Status.NOT_REQUIRED and item.type in (ItemType.NEED, ItemType.HAZARD):
                self.status[node] = Status.VERIFIED
        return self.status[item_id]

    def gaps_of(self, item: Item, status: Status) -> None:
        for evidence in self.tests.get(item.id, []):
            if evidence.problem is not None:
                no_commit = self.head is None and evidence.problem is Check.NOT_AT_HEAD
                reason, hint = _NO_COMMIT if no_commit else _REASONS[evidence.problem]
                self.gaps.append(Finding(evidence.problem, item.id, reason.format(
                    t=evidence.result.nodeid, o=evidence.result.outcome.value, head=(self.head or "none")[:12]), hint,
                                         where=item.where))
        if item.type in NEEDS_TEST and not self.tests.get(item.id):
            self.gaps.append(Finding(Check.NO_TEST, item.id, f"no test verifies this {item.type.value.replace('_', ' ')}",
                                     f'add a test marked @pytest.mark.verifies("{item.id}") and run `qms test`',
                                     where=item.where))
        if status.ok:
            return
        below = sorted(c for c in self.design.children.get(item.id, []) if not self.status.get(c, Status.INCOMPLETE).ok)
        if item.type is ItemType.NEED and not self.design.children.get(item.id):
            self.gaps.append(Finding(Check.NOT_TRACED, item.id, "no requirement derives from this user need",
                                     "add requirements with this need as parent", where=item.where))
        elif item.type is ItemType.HAZARD:
            if not self.design.children.get(item.id):
                reason = "no risk control mitigates this hazard"
                hint = f"add a risk_control item with `parents: [{item.id}]` (ISO 14971 §7.1), and a test that verifies it"
            else:
                reason = f"risk controls not verified: {', '.join(below) or 'suspect or cyclic links'}"
                hint = "verify every risk control of the hazard (ISO 14971 §7.2)"
            self.gaps.append(Finding(Check.HAZARD_UNVERIFIED, item.id, reason, hint, where=item.where))
        elif item.type is ItemType.NEED:
            self.gaps.append(Finding(Check.NOT_VERIFIED, item.id,
                                     f"not fully verified: {', '.join(below) or 'suspect or cyclic links'}",
                                     "close the gaps of the items below it", where=item.where))

    def ancestors(self, item_id: str, want: ItemType) -> tuple[str, ...]:
        seen: set[str] = set()
        stack = list(self.design.items[item_id].parents)
        while stack:
            node = stack.pop()
            if node in seen or node not in self.design.items:
                continue
            seen.add(node)
            stack.extend(self.design.items[node].parents)
        return tuple(sorted(n for n in seen if self.design.items[n].type is want))


def build_trace(design: Design, results: Mapping[str, LatestResult], head: str | None) -> TraceReport:
    """The matrix of `design` against `results` (one per test), judged at commit `head`."""
    tracer = _Tracer(design, results, head)
    rows: dict[str, TraceRow] = {}
    for item in sorted(design.items.values(), key=lambda i: i.id):
        status = tracer.full(item.id)
        tracer.gaps_of(item, status)
        if status.ok and any(tracer._suspect(item, p) for p in item.parents):
            status = Status.INCOMPLETE  # shown so while its own link is suspect; its parents judge the link itself
        root = ItemType.HAZARD if item.type is ItemType.RISK_CONTROL else ItemType.NEED
        rows[item.id] = TraceRow(item, status, tracer.own(item), tuple(tracer.tests.get(item.id, [])),
                                 tracer.ancestors(item.id, root))
    return TraceReport(head, rows, dict(results), tuple(tracer.gaps), design)


def trace(project: Project, store: Store | None, *, use_cache: bool = True, mac_key: bytes | None = None) -> TraceReport:
    """The release gate's entry: the project's design against its test runs, at its HEAD.

    A HEAD on a dirty tree is still HEAD: results are evidence only from runs whose own
    tree was clean, which the plugin recorded when they started. With `use_cache`, the
    whole report is reused while every input is the same (`qms.traceability.cache`); every
    cache file is tagged under `mac_key` (QMS_HOME's evidence cache key, which the gate passes),
    so one forged in the records folder is rebuilt, never trusted.
    """
    with _collector_paused():
        head = head_commit(project.root)
        device = project.config.device
        if not use_cache:
            design = load_project_design(project, use_cache=False)
            report = build_trace(design, latest_results(store, device, head) if store is not None else {}, head)
            return _with_store_checks(report, store, project)
        folder = project.records_dir / "cache"
        files = scan(design_files(project.root, project.design_dir), folder / STAT_NAME, mac_key=mac_key)
        results = results_key(store, device, head) if store is not None else None
        sources = tuple((f.rel, f.digest) for f in files)
        cached: TraceReport | None = read_report(folder / REPORT_NAME, report_key(project, sources, head, results), mac_key)
        checks = (folder / "suspect-tests.json", results, mac_key) if results is not None else None
        if cached is not None:
            return _with_store_checks(cached, store, project, checks)
        design = load_project_design(project, files=files, mac_key=mac_key)
        chosen = latest_results(store, device, head, folder / "results.json", results, mac_key) if store is not None else {}
        report = build_trace(design, chosen, head)
        # keyed by the content actually parsed, which a concurrent edit may have made newer than the scan
        write_report(folder / REPORT_NAME, report_key(project, design.sources, head, results), report, mac_key)
        return _with_store_checks(report, store, project, checks)


def _with_store_checks(report: TraceReport, store: Store | None, project: Project,
                       cache: tuple[Path, str, bytes | None] | None = None) -> TraceReport:
    """The report with the gaps that read link reviews and runs from the store (never cached with the report).

    A verifying test, or the item it verifies, changed since their link was reviewed is a
    suspect link, as the gate judges it (`qms.traceability.testsource.suspect_tests`); and when HEAD's newest run was
    partial, a requirement with no test says so instead of asking for a new test. With
    `cache` (a file, the results key and the MAC key), the suspect links are kept in that file.
    """
    if store is None:
        return report
    scope = newest_run_scope(store, project.config.device, report.head)
    gaps = report.gaps
    if scope is not None and scope.partial:
        gaps = tuple(_partial(g, scope) if g.check == Check.NO_TEST else g for g in gaps)
    root = project.root if report.head is not None else None
    suspect = (cached_suspect_tests(store, report.tests, report.design, root, *cache) if cache is not None
               else suspect_tests(store, report.tests, report.design, root))
    if not suspect and gaps is report.gaps:
        return report
    return dataclasses.replace(report, gaps=(*gaps, *suspect))


def _partial(gap: Finding, scope: RunScope) -> Finding:
    skipped = scope.collected - scope.ran
    return dataclasses.replace(
        gap, reason=f"{gap.reason} in the last run at HEAD, which was partial: it ran {scope.ran} of the "
                    f"{scope.collected} tests it collected ({skipped} deselected or not reached)",
        hint="run the whole suite (`qms test` with no -k, -m or test path), then trace again; if no test "
             f"verifies it, add one marked @pytest.mark.verifies(\"{gap.item}\")")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the report's many small, acyclic objects are built.

    Reference counting still frees everything; the collector would otherwise rescan the
    growing heap again and again (a quarter of the time at 5,000 items, more at 50,000).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
