"""The whole-report cache: a warm report equals a cold one exactly, any change of input gives a fresh one."""

from __future__ import annotations

import hashlib
import marshal
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.traceability.trace_helpers import HAZ, NEED, QMS_TOML, RC, git_commit, make_run, requirement, write_project
from qms.config import Project, load_project
from qms.errors import QmsError
from qms.store import Store, open_store
from qms.traceability import Outcome, record_run, trace
from qms.traceability.review import review
from qms.traceability.cache import _MAGIC, REPORT_NAME, read_report
from qms.traceability.gitstate import head_commit
from qms.traceability.report import TraceReport

CLASS_C = requirement("REQ-002", "NEED-001", "RC-001") + "safety_class: C\n"
LINKED = ("REQ-001", "REQ-002", "RC-001", "REQ-003")


def _fresh(project: Project, store: Store) -> TraceReport:
    """Trace twice with the cache (the second is served from it) and check both against an uncached trace."""
    cold = trace(project, store, use_cache=False)
    first, second = trace(project, store), trace(project, store)
    assert first == cold and second == cold
    assert first.to_json() == cold.to_json() == second.to_json()
    return cold


def _key_file(project: Project) -> Path:
    return project.records_dir / "cache" / REPORT_NAME


OPS = st.sampled_from(["meaning", "cosmetic", "add", "delete", "run", "commit", "review", "config", "damage"])


def _apply(op: str, project: Project, store: Store, draw: st.DataObject) -> Project:
    design = project.root / "design"
    if op == "meaning":
        path = design / "n.yaml"
        path.write_text(path.read_text().replace("needs", "needs, again,"), encoding="utf-8")
    elif op == "cosmetic":
        path = design / draw.draw(st.sampled_from(["n.yaml", "r.yaml"]))
        path.write_text(path.read_text().replace("text: ", "text:   "), encoding="utf-8")
    elif op == "add":
        (design / "r3.yaml").write_text(requirement("REQ-003", "NEED-001"), encoding="utf-8")
    elif op == "delete":
        (design / ("r3.yaml" if (design / "r3.yaml").exists() else "c.yaml")).unlink(missing_ok=True)
    elif op == "run":
        outcomes = draw.draw(st.lists(st.sampled_from([Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED]),
                                      min_size=1, max_size=4))
        results = {f"t.py::t{i}": (o, (LINKED[i],)) for i, o in enumerate(outcomes)}
        record_run(store, make_run(project, head_commit(project.root), results, dirty=draw.draw(st.booleans())), "ci")
    elif op == "commit":
        git_commit(project.root)
    elif op == "review":
        for item in ("REQ-001", "REQ-002"):
            try:
                review(project, store, item, "reviewer")
            except QmsError:
                pass  # e.g. a parent deleted by an earlier step: nothing changes
    elif op == "config":
        toml = project.root / "qms.toml"
        text = toml.read_text()
        toml.write_text(text.replace('"B"', '"C"') if '"B"' in text else text.replace('"C"', '"B"'), encoding="utf-8")
        return load_project(project.root)
    elif op == "damage":
        for cached in sorted((project.records_dir / "cache").glob("*")):
            data = cached.read_bytes()
            cached.write_bytes(data[: draw.draw(st.integers(0, len(data)))] + draw.draw(st.binary(max_size=3)))
    return project


@settings(max_examples=12, deadline=None)
@given(st.lists(OPS, min_size=1, max_size=5), st.data())
def test_any_change_of_input_gives_the_report_an_uncached_trace_gives(ops: list[str], data: st.DataObject) -> None:
    """After edits, new or removed files, test runs, commits, reviews, config changes or damaged caches, the cached report equals an uncached one."""
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp) / "device", {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001"),
                                                       "r2.yaml": CLASS_C, "h.yaml": HAZ, "c.yaml": RC})
        store = open_store(f"sqlite:///{Path(tmp) / 'qms.db'}")
        try:
            git_commit(project.root)
            _fresh(project, store)
            for op in ops:
                project = _apply(op, project, store, data)
                _fresh(project, store)
        finally:
            store.dispose()


def test_a_new_run_after_a_cached_report_is_seen(project_dir: Path, store: Store) -> None:
    """A requirement shown untested from the cache becomes verified as soon as a passing run of HEAD is recorded."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    review(project, store, "REQ-001", "reviewer")
    head = git_commit(project_dir)
    assert not trace(project, store).covered("REQ-001")
    assert _key_file(project).is_file()
    record_run(store, make_run(project, head, {"t.py::t": (Outcome.PASSED, ("REQ-001",))}), "ci")
    assert trace(project, store).covered("REQ-001")
    record_run(store, make_run(project, head, {"t.py::t": (Outcome.FAILED, ("REQ-001",))}), "ci")
    assert not trace(project, store).covered("REQ-001")


def test_a_cache_file_that_is_not_a_whole_report_is_never_used(project_dir: Path, store: Store) -> None:
    """Truncated, bit-flipped, foreign or code-carrying cache files are ignored and the report is recomputed."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    git_commit(project_dir)
    cold = trace(project, store, use_cache=False)
    assert trace(project, store) == cold
    good = _key_file(project).read_bytes()
    key = good[len(_MAGIC):len(_MAGIC) + 64]
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 1

    body = _MAGIC + key + marshal.dumps(compile("raise SystemExit('never run')", "x", "exec"))
    for bad in (good[: len(good) // 2], bytes(flipped), b"", b"garbage", body + hashlib.sha256(body).digest()):
        _key_file(project).write_bytes(bad)
        assert read_report(_key_file(project), key.decode()) is None
        assert trace(project, store) == cold


def test_an_unreadable_design_file_is_a_finding_and_no_report_is_cached(project_dir: Path, store: Store) -> None:
    """A design file that cannot be read (a dangling link) is a parse finding naming it; such a report is not cached."""
    project = write_project(project_dir, {"n.yaml": NEED})
    (project_dir / "design" / "gone.yaml").symlink_to(project_dir / "design" / "nowhere.yaml")
    report = trace(project, store)
    assert [(g.check.value, g.where) for g in report.gaps if g.check.value == "parse"] == [("parse", "design/gone.yaml:1")]
    assert not _key_file(project).exists()
    assert report == trace(project, store, use_cache=False)


def test_the_configuration_is_part_of_the_key(project_dir: Path, store: Store) -> None:
    """Changing the system's safety class changes the findings at once, without any design file changing."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": CLASS_C.replace("REQ-002", "REQ-001")
                                          .replace("  - RC-001\n", "")})
    git_commit(project_dir)
    assert any("exceeds" in g.reason for g in trace(project, store).gaps)
    (project_dir / "qms.toml").write_text(QMS_TOML.replace('"B"', '"C"'), encoding="utf-8")
    assert not any("exceeds" in g.reason for g in trace(load_project(project_dir), store).gaps)
