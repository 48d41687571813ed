"""Benchmark: `bundle verify` of a 2 GB bundle: its time and peak memory against `sha256sum` of the same file.

The bundle is genuine (a CA, an approver, a signed manifest, release.json and an audit
checkpoint) and mostly incompressible: a few large members of random bytes, half stored and
half deflated, with one MiB in eight of synthetic JSON text so the inflater has work to do.
It is written by streaming zipfile (qmskit's own writer holds files in memory, which a 2 GB
bundle should not need to prove anything about the reader). Everything lives in one
temporary folder under /tmp, deleted at the end.

Measured in the same run, page cache warm for both (one untimed pass first):
- baseline: `sha256sum` over the bundle file (and, for reference, `openssl dgst -sha256`, which
  uses the CPU's SHA instructions where coreutils may not);
- `verify_bundle` in a child process (its own time, and the child's peak RSS);
- `qms bundle verify --json` end to end (interpreter start and imports included).
Goal (issue 14): peak RSS under 300 MB and at least 0.5x sha256sum's speed.

    python benchmarks/bench_bundle.py [--size-mb 2048] [--members 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from qms import checkpoint
from qms.release.assembly import release_json
from qms.release.bundle import CHECKPOINT, ENVELOPE, MANIFEST, PLAN, RELEASE, ROSTER, ROSTER_APPROVAL, manifest_payload
from qms.signing import Role, Signatory, add_user, init_ca
from qms.signing.authority import approval_document, approve_roster
from qms.signing.manifest import Provenance, sign_manifest
from qms.signing.roster import Roster
from qms.store import open_store

MiB = 1 << 20
CA_PASS, PASS, APPROVER = "bench-ca-passphrase", "bench passphrase 123", "ada.approver"
TEXT = (b'{"case": "CASE-000000", "label": "haemorrhage", "score": 0.912345, "site": "synthetic"}\n' * 12_000)[:MiB]


def _stage(staged: Path, size_mb: int, members: int) -> list[str]:
    """Write the large members: random bytes, every eighth MiB synthetic text."""
    names = []
    for i in range(members):
        name = f"data/part-{i}.bin"
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        with (staged / name).open("wb") as f:
            for block in range(size_mb // members):
                f.write(TEXT if block % 8 == 7 else os.urandom(MiB))
        names.append(name)
    return names


def build(tmp: Path, size_mb: int, members: int) -> tuple[Path, Path]:
    """A signed bundle of `size_mb` MiB in `members` large members; returns it and the CA certificate file."""
    home, staged = tmp / "home", tmp / "staged"
    store = open_store(f"sqlite:///{tmp / 'qms.db'}")
    ca = init_ca(home, "Bench Ltd", CA_PASS)
    add_user(store, home, APPROVER, "Ada Approver", Role.QUALITY, PASS, CA_PASS, actor="admin")
    key = checkpoint.load_or_create_key(home / "checkpoint-key.pem")
    small = {RELEASE: release_json("1.0.0", {"approver": [APPROVER]}, store.store_id, key.public_key(), {}),
             CHECKPOINT: json.dumps(checkpoint.create(store, key).to_json()).encode()}
    roster = Roster.from_json({"identities": {APPROVER: {"kind": "person", "roles": ["approver", "quality"]}}}, "bench")
    approval = approve_roster(store, home, Signatory(APPROVER, PASS), roster)
    small |= {ROSTER: roster.canonical(), ROSTER_APPROVAL: json.dumps(approval_document(store, home, approval)).encode(),
              PLAN: json.dumps({"version": "1.0.0", "signatures": {"approver": [APPROVER]}}).encode()}
    for name, data in small.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    large = _stage(staged, size_mb, members)
    doc, _ = sign_manifest(store, home, APPROVER, PASS, staged, sorted([*small, *large]), Provenance("b" * 40),
                           "approved", "release:1.0.0:manifest")
    path = tmp / "bundle.zip"
    with zipfile.ZipFile(path, "w", compresslevel=1) as z:
        z.writestr(ENVELOPE, json.dumps(doc, indent=2, sort_keys=True) + "\n", zipfile.ZIP_DEFLATED)
        z.writestr(MANIFEST, manifest_payload(doc), zipfile.ZIP_DEFLATED)
        for name, data in small.items():
            z.writestr(name, data, zipfile.ZIP_DEFLATED)
        for i, name in enumerate(large):
            info = zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            with (staged / name).open("rb") as src, z.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, MiB)
    shutil.rmtree(staged)
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return path, ca_file


def _child(cmd: list[str]) -> tuple[float, int, str]:
    """Run `cmd`; its wall time, its peak RSS in bytes (from wait4) and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, out


def verify_only(bundle: Path, ca_file: Path) -> None:
    """The child: time `verify_bundle` alone (no interpreter start, its lazy imports done) and print the result as JSON."""
    import qms.signing.pdf  # noqa: F401  (imported by verify_bundle on first use: start-up, not reading)
    from qms.release.bundle import verify_bundle
    from qms.signing.keys import load_certificate

    anchors = (load_certificate(ca_file.read_bytes(), str(ca_file)),)
    start = time.perf_counter()
    report = verify_bundle(bundle, anchors)
    print(json.dumps({"seconds": time.perf_counter() - start, "ok": report.ok, "files": report.files,
                      "findings": [f.text() for f in report.findings]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--verify-only", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_only:
        verify_only(*args.verify_only)
        return
    with tempfile.TemporaryDirectory(prefix="bench-bundle-", dir="/tmp") as tmp:
        start = time.perf_counter()
        bundle, ca_file = build(Path(tmp), args.size_mb, args.members)
        size = bundle.stat().st_size
        print(f"bundle: {size / 1e9:.2f} GB in {args.members} large members (half stored, half deflated), "
              f"built in {time.perf_counter() - start:.0f} s")
        qms = str(Path(sys.executable).with_name("qms"))
        _child(["sha256sum", str(bundle)])  # warm the page cache
        base, ssl, ours, cli, rss = [], [], [], [], []
        openssl = shutil.which("openssl")
        for _ in range(args.repeats):
            base.append(_child(["sha256sum", str(bundle)])[0])
            if openssl:
                ssl.append(_child([openssl, "dgst", "-sha256", str(bundle)])[0])
            _, peak, out = _child([sys.executable, __file__, "--verify-only", str(bundle), str(ca_file)])
            result = json.loads(out)
            assert result["ok"], result["findings"]
            ours.append(result["seconds"])
            rss.append(peak)
            wall, peak, out = _child([qms, "bundle", "verify", str(bundle), "--ca", str(ca_file), "--json"])
            assert json.loads(out)["ok"]
            cli.append(wall)
            rss.append(peak)
        b, o, c = statistics.median(base), statistics.median(ours), statistics.median(cli)
        print(f"sha256sum (baseline): {b:.2f} s  {size / b / 1e6:.0f} MB/s   runs {', '.join(f'{x:.2f}' for x in base)}")
        if ssl:
            s = statistics.median(ssl)
            print(f"openssl dgst -sha256: {s:.2f} s  {size / s / 1e6:.0f} MB/s   runs {', '.join(f'{x:.2f}' for x in ssl)}")
        print(f"verify_bundle:        {o:.2f} s  {size / o / 1e6:.0f} MB/s   runs {', '.join(f'{x:.2f}' for x in ours)}")
        print(f"qms bundle verify:    {c:.2f} s  (interpreter start and imports included)")
        print(f"speed vs sha256sum:   {b / o:.2f}x (goal >= 0.5x); end to end {b / c:.2f}x"
              + (f"; vs openssl {statistics.median(ssl) / o:.2f}x" if ssl else ""))
        print(f"peak RSS:             {max(rss) / 1e6:.0f} MB (goal < 300 MB)   load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
