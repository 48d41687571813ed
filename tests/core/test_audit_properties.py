"""Property: over random histories and random tamperings, verify fails exactly when tampered."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms import audit
from qms.store import open_store
from tests.core.tamper import drop_protection, execute

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_spec = st.builds(audit.EventSpec, actor=_text, action=st.sampled_from(["a.create", "b.sign", "c.run"]),
                  object=_text, details=st.dictionaries(st.sampled_from(["k", "n", "v"]), st.integers() | _text,
                                                        max_size=2))
_tamper = st.one_of(
    st.none(),
    st.tuples(st.just("edit"), st.sampled_from(["actor", "action", "object", "details", "time"])),
    st.tuples(st.just("delete"), st.just("")),
    st.tuples(st.just("swap"), st.just("")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(_spec, min_size=2, max_size=8), tamper=_tamper, pick=st.integers(min_value=0))
def test_verify_fails_exactly_when_tampered(specs: list[audit.EventSpec], tamper: tuple[str, str] | None,
                                            pick: int) -> None:
    """A random chain verifies untouched; any real edit, inner deletion or swap is reported at that event."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'qms.db'}")
        try:
            for spec in specs:
                audit.record(store, spec)
            n = len(specs)
            expected_break: int | None = None
            if tamper is not None:
                drop_protection(store)
                kind, column = tamper
                if kind == "edit":
                    seq = 1 + pick % n
                    execute(store, f"UPDATE audit_event SET {column} = {column} || 'x' WHERE seq = :s", s=seq)
                    expected_break = seq
                elif kind == "delete":
                    seq = 1 + pick % (n - 1)  # an inner or first event; the newest is the checkpoint's job
                    execute(store, "DELETE FROM audit_event WHERE seq = :s", s=seq)
                    expected_break = seq
                else:
                    seq = 1 + pick % (n - 1)
                    execute(store, "UPDATE audit_event SET seq = -1 WHERE seq = :s", s=seq)
                    execute(store, "UPDATE audit_event SET seq = :s WHERE seq = :t", s=seq, t=seq + 1)
                    execute(store, "UPDATE audit_event SET seq = :t WHERE seq = -1", t=seq + 1)
                    expected_break = seq
            report = audit.verify(store)
            if expected_break is None:
                assert report.intact and report.events == n
            else:
                assert report.first_break is not None
                assert report.first_break.seq == expected_break
        finally:
            store.dispose()
