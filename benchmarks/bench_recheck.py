"""The gate's re-checks: the audit chain against its checkpoint log, and the model, protocol and dataset files re-hashed.

Run: python benchmarks/bench_recheck.py [--events 5000] [--repeat 3]

On a demo-sized project (the example's design, plan and protocols; the de-identified
images of a `make demo` run when examples/cxr-triage/out/project/data/deid exists, else
synthetic files of the same count and size; a 4 MB model; a chain of `--events` events
pinned by 20 signed checkpoints), it times, in the same run:
1. the two re-check criteria (audit, evidence) cold (no stat cache), warm (the stat cache, its
   entries MAC'd with the key in QMS_HOME, as `qms verify` runs them) and as a release runs them
   (every file re-hashed, the cache ignored);
2. a plain sha256 of the same files (what re-hashing without the stat cache costs);
3. the whole gate with the re-checks (`qms verify` now) and without them (the old gate).
Goal: `qms verify` with all re-hashing under 3 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from timing import median_seconds

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "cxr-triage"
DEMO_DATA = EXAMPLE / "out" / "project" / "data"


def _project(root: Path) -> tuple[Path, Path]:
    """The example project with the images and labels; (images folder, labels table)."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("out", "data", ".qms", "__pycache__"))
    (root / ".gitignore").write_text("data/\n.qms/\n")
    data = root / "data"
    if (DEMO_DATA / "deid").is_dir() and (DEMO_DATA / "raw" / "labels.csv").is_file():
        shutil.copytree(DEMO_DATA / "deid", data / "deid")
        shutil.copy(DEMO_DATA / "raw" / "labels.csv", data / "labels.csv")
        return data / "deid", data / "labels.csv"
    lines = ["file,split,pneumothorax"]
    for i in range(827):  # the demo's image count and about its size, synthetic bytes
        (data / "deid" / f"{i:04d}.dcm").parent.mkdir(parents=True, exist_ok=True)
        (data / "deid" / f"{i:04d}.dcm").write_bytes(os.urandom(36_000))
        lines.append(f"{i:04d}.dcm,test,{i % 2}")
    (data / "labels.csv").write_text("\n".join(lines) + "\n")
    return data / "deid", data / "labels.csv"


def _git(root: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-qm", "bench"],
                   cwd=root, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from qms import audit, checkpoint, checkpoint_log
    from qms.config import load_project
    from qms.gate import context_for, evaluate, release_gate
    from qms.gate.checks.audit import AuditTrailIntact
    from qms.gate.checks.evidence import EvidenceIntact
    from qms.gate.policy import AllOf
    from qms.hashing import canonical_json, digest_of, normalised_text_digest, sha256_file
    from qms.models.fileset import FileSet
    from qms.models.records import ModelVersion
    from qms.release_plan import load_plan
    from qms.store import open_store
    from qms.validation.manifest import DatasetManifest, ManifestEntry
    from qms.validation.records import ProtocolLock

    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "project", Path(tmp) / "home"
        images, labels = _project(root)
        from qms.validation.dataset import create_manifest

        try:
            manifest = create_manifest(images, labels, split=None, name="bench")
        except Exception:  # noqa: BLE001 - synthetic bytes are not DICOM: a manifest of hashes alone
            entries = tuple(ManifestEntry(p.relative_to(images).as_posix(), sha256_file(p), f"P{i}", f"1.2.{i}")
                            for i, p in enumerate(sorted(images.rglob("*.dcm"))))
            manifest = DatasetManifest("bench", "test", (), (), entries)
        (root / "data" / "test.json").write_text(manifest.dumps())
        model = root / "models" / "m"
        model.mkdir(parents=True)
        (model / "model.safetensors").write_bytes(os.urandom(4 << 20))
        (model / "config.json").write_text("{}")
        _git(root)
        project = load_project(root)
        plan = load_plan(project)
        store = open_store(project.database_url())
        files = FileSet.of_folder(model)
        name, version = plan.model.split("@")
        protocol_text = (root / "protocols" / "VAL-PERF-001.yaml").read_text()
        with store.transaction() as session:
            session.add(ModelVersion(name=name, version=version, digest=files.digest, format="torch", labels="[]",
                                     files=canonical_json(files.to_json()).decode(), card="{}", card_digest="0" * 64,
                                     lineage="{}", location="models/m", registered_by="bench"))
            for pid in plan.protocols:
                session.add(ProtocolLock(
                    protocol_id=pid, protocol_version="1", title=pid, text_sha256=normalised_text_digest(protocol_text),
                    content_sha256="0" * 64, content=json.dumps({"dataset": {"root": "data/deid"}}),
                    path="protocols/VAL-PERF-001.yaml", model_ref=plan.model, model_sha256=files.digest,
                    manifest_path="data/test.json", manifest_sha256=manifest.sha256, training_manifests="[]",
                    lock_sha256="0" * 64, locked_by="bench"))
        key_path, log_path = home / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE
        per_seal = max(1, args.events // 20)
        for i in range(20):
            audit.append_many(store, (audit.EventSpec("bench", "signature.apply", f"doc:{i}:{j}", after=digest_of(j))
                                      for j in range(per_seal)))
            checkpoint_log.seal(store, key_path, log_path)
        n_files = len(manifest.entries) + len(files.entries)
        size = sum(p.stat().st_size for p in images.rglob("*") if p.is_file()) + (4 << 20)

        def rechecks(stat_cache: bool = True) -> list[object]:
            ctx = context_for(project, store, home, plan, stat_cache=stat_cache)
            return [c.evaluate(ctx) for c in (AuditTrailIntact(), EvidenceIntact())]

        def cold() -> object:
            shutil.rmtree(project.records_dir / "cache", ignore_errors=True)
            return rechecks()

        def plain() -> object:
            return [sha256_file(images / e.file) for e in manifest.entries] + [sha256_file(model / "model.safetensors")]

        old_gate = AllOf([c for c in release_gate().checks if c.name not in ("audit", "evidence")])
        t_cold = median_seconds(cold, args.repeat)
        rechecks()
        t_warm = median_seconds(rechecks, args.repeat)
        t_release = median_seconds(lambda: rechecks(stat_cache=False), args.repeat)
        t_ev_warm, t_ev_full = (median_seconds(lambda: EvidenceIntact().evaluate(
            context_for(project, store, home, plan, stat_cache=cached)), args.repeat) for cached in (True, False))
        t_plain = median_seconds(plain, args.repeat)
        evaluate(context_for(project, store, home, plan, stat_cache=True))  # every cache warm
        t_new = median_seconds(lambda: evaluate(context_for(project, store, home, plan, stat_cache=True)), args.repeat)
        t_old = median_seconds(lambda: old_gate.evaluate(context_for(project, store, home, plan)), args.repeat)
        outcomes = rechecks()
        findings = {o.check: len(o.findings) for o in outcomes}  # type: ignore[attr-defined]
        print(f"recheck: {n_files} files ({size / 1e6:.0f} MB), chain of {args.events} events, 20 checkpoints: "
              f"audit+evidence criteria {t_cold:.2f} s cold, {t_warm:.3f} s warm (MAC'd stat cache), {t_release:.2f} s "
              f"as a release (all re-hashed); plain sha256 of the same files {t_plain:.2f} s; findings {findings} (audit: the lock rows inserted here have no audit events)")
        print(f"evidence criterion alone: {t_ev_warm:.3f} s with the MAC'd stat cache (qms verify), {t_ev_full:.3f} s "
              f"re-hashing every file (qms release)")
        print(f"gate: qms verify warm with the re-checks {t_new:.2f} s, old gate (without them) {t_old:.2f} s, "
              f"same run (goal < 3 s warm)")
        store.dispose()


if __name__ == "__main__":
    main()
