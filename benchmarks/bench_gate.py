"""Release gate and evidence documents: `qms verify` on a 5,000-item project; render and sign per document.

Run: python benchmarks/bench_gate.py [--items 5000] [--repeat 3]

1. The gate on the traceability benchmark's generated project (5,000 design items,
   excluding test execution: test results are recorded, not run), against the trace alone
   (`qms.traceability.trace`), which is the gate's largest input. Goal: under 3 s.
2. Every evidence document of a synthetic release: rendering (jinja2 -> HTML -> PDF/A-3b
   with attachments) against bare weasyprint on the same HTML, then the three PAdES
   signatures (author, reviewer, approver), in seconds per document.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timing import median_seconds

HERE = Path(__file__).resolve().parent


def _generator() -> object:
    """The traceability benchmark's project generator (benchmarks/gen_trace_project.py)."""
    spec = importlib.util.spec_from_file_location("gen_trace_project", HERE / "gen_trace_project.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def bench_verify(items: int, tests: int, repeat: int) -> None:
    from qms.config import load_project
    from qms.gate import verify
    from qms.store import open_store
    from qms.traceability import record_run, trace

    gen: Any = _generator()
    example = HERE.parent / "examples" / "cxr-triage"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        run = gen.generate(root, items, tests)
        for name in ("release-plan.yaml", "soup.yaml", "docs"):
            src = example / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-qm", "plan"],
                       cwd=root, check=True)
        project = load_project(root)
        store = open_store(project.database_url())
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True).stdout.strip()
        record_run(store, dataclasses.replace(run, commit=head), "bench")  # the results are of the commit with the plan
        home = Path(tmp) / "home"
        cache = project.records_dir / "cache"

        def cold(fn: Callable[[], object]) -> Callable[[], object]:
            """Every trace cache (design, results, whole report) emptied before each call."""
            return lambda: (shutil.rmtree(cache, ignore_errors=True), fn())

        t_trace = median_seconds(cold(lambda: trace(project, store)), repeat)
        t_gate = median_seconds(cold(lambda: verify(project, store, home)), repeat)
        t_gate_warm = median_seconds(lambda: verify(project, store, home), repeat)
        verdict = verify(project, store, home)
        checks = {o.check: len(o.findings) for o in verdict.outcomes}
        print(f"gate: qms verify on {items} items / {len(run.results)} recorded test results (no test execution): "
              f"median {t_gate:.2f} s cold, {t_gate_warm:.2f} s with the trace caches warm (goal < 3 s); "
              f"trace alone (cold) {t_trace:.2f} s; gate / trace = {t_gate / t_trace:.2f}; findings per check {checks}")


def bench_documents(repeat: int) -> None:
    import weasyprint

    from qms.documents.build import attachments, document_data
    from qms.documents.catalogue import DocumentKind
    from qms.documents.render import DocumentHeader, Renderer
    from qms.documents.sample import sample_evidence
    from qms.signing import Role, add_user, init_ca
    from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf
    from qms.store import open_store

    ev = sample_evidence(requirements=20)
    roles = {"author": ("b.author", Role.ENGINEER, "authored"), "reviewer": ("b.reviewer", Role.ENGINEER, "reviewed"),
             "approver": ("b.approver", Role.QUALITY, "approved")}
    renderer = Renderer(DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0", 1,
                                       {r: (u,) for r, (u, _, _) in roles.items()}))
    with tempfile.TemporaryDirectory() as tmp:
        home, store = Path(tmp) / "home", open_store(f"sqlite:///{tmp}/qms.db")
        init_ca(home, "Bench Ltd", "bench ca passphrase")
        for uid, role, _ in roles.values():
            add_user(store, home, uid, uid, role, "bench passphrase", "bench ca passphrase", actor="bench")
        specs = [RoleSpec.of(field, meaning, [uid]) for field, (uid, _, meaning) in roles.items()]
        renderer.render(DocumentKind.ANOMALIES, document_data(DocumentKind.ANOMALIES, ev))  # fonts loaded once
        rows = []
        for kind in DocumentKind:
            data, files = document_data(kind, ev), attachments(kind, ev)
            html = renderer.html(kind, data, files)
            t_ours = median_seconds(lambda: renderer.render(kind, data, files), repeat)
            t_bare = median_seconds(lambda: weasyprint.HTML(string=html).write_pdf(), repeat)
            pdf = prepare_signature_fields(store, home, renderer.render(kind, data, files).pdf, specs)
            start = time.perf_counter()
            for field, (uid, _, meaning) in roles.items():
                pdf, _ = sign_pdf(store, home, Signatory(uid, "bench passphrase"), pdf, meaning, f"bench:{kind.value}", field=field)
            t_sign = time.perf_counter() - start
            rows.append((kind.value, t_ours, t_bare, t_sign))
            print(f"  {kind.value:<18} render {t_ours:.3f} s (bare weasyprint {t_bare:.3f} s)  3 signatures {t_sign:.3f} s")
        ours = statistics.median(r[1] for r in rows)
        bare = statistics.median(r[2] for r in rows)
        sign = statistics.median(r[3] for r in rows)
        total = sum(r[1] + r[3] for r in rows)
        print(f"documents: {len(rows)} documents; median per document: render {ours:.3f} s "
              f"(bare weasyprint {bare:.3f} s, ratio {ours / bare:.2f}), three signatures {sign:.3f} s; "
              f"whole set rendered and signed in {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--tests", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_verify(args.items, args.tests, args.repeat)
    bench_documents(args.repeat)


if __name__ == "__main__":
    main()
