"""The demo's whole flow on the example project, then the gate failing for each kind of gap.

Runs every demo step before the release step in a fresh copy of examples/cxr-triage/ (as
`make demo` does), then the release step's commands one by one, then breaks the project
in one way at a time and checks that the gate names the break.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"
RELEASE_STEP = "70-release.sh"
VERSION = "1.0.0"
PASSPHRASES = {"demo.author": "demo-author-passphrase", "demo.reviewer": "demo-reviewer-passphrase",
               "demo.approver": "demo-approver-passphrase"}

# One xdist worker runs the whole module: the demo fixture is minutes of work, and a second worker would build it again.
pytestmark = [pytest.mark.slow, pytest.mark.external, pytest.mark.xdist_group("e2e-release-flow")]


@dataclass
class Demo:
    root: Path
    env: dict[str, str]
    log: str

    def qms(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["qms", *args], cwd=self.root, env=self.env, input=stdin, capture_output=True, text=True,
                              check=False)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", *args], cwd=self.root,
                              env=self.env, check=True, capture_output=True, text=True).stdout

    def verdict(self) -> dict[str, object]:
        proc = self.qms("verify", "--json")
        assert proc.returncode in (0, 1), proc.stderr
        data: dict[str, object] = json.loads(proc.stdout)
        return data


def _findings(verdict: dict[str, object], check: str) -> list[dict[str, str]]:
    return [f for f in verdict["findings"] if f["check"] == check]  # type: ignore[attr-defined,index]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo")
    root = out / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("out", "data", ".qms", "__pycache__", "*.pyc",
                                                               ".pytest_cache", "models"))
    shutil.copytree(EXAMPLE.parent / "common", out / "common")  # the steps the examples share, beside the project
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "QMS_HOME": str(out / "home"), "QMS_USER": "demo.author", "DEMO_OUT": str(out), "PYTHONUNBUFFERED": "1"}
    env.pop("QMS_DATABASE_URL", None)
    log = []
    for step in sorted((root / "demo.d").glob("*.sh")):
        if step.name >= RELEASE_STEP:
            break
        proc = subprocess.run(["bash", "-euo", "pipefail", str(step)], cwd=root, env=env, capture_output=True, text=True,
                              check=False)
        log.append(f"=== {step.name} (exit {proc.returncode})\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        assert proc.returncode == 0, log[-1]
    return Demo(root, env, "\n".join(log))


@pytest.fixture(scope="module")
def released(demo: Demo) -> Path:
    """The demo's release authored, reviewed and approved; the bundle's path. Every test needing it runs it, in any order."""
    verdict = demo.verdict()
    assert verdict["verdict"] == "pass", json.dumps(verdict["findings"], indent=1)
    for user, meaning in (("demo.author", None), ("demo.reviewer", "reviewed"), ("demo.approver", "approved")):
        args = ["release", VERSION, "--user", user] if meaning is None else \
            ["release", "sign", VERSION, "--meaning", meaning, "--user", user]
        proc = demo.qms(*args, stdin=PASSPHRASES[user] + "\n")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return demo.root / ".qms" / "releases" / f"{VERSION}-bundle.zip"


def test_release_of_the_demo_project(demo: Demo, released: Path) -> None:
    """At the demo's end the gate passes; authored, reviewed and approved, the bundle verifies and the model is in production."""
    check = demo.qms("bundle", "verify", str(released), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
    model = json.loads(demo.qms("model", "show", "cxr-triage-vit@1.0.0", "--json").stdout)
    assert model["stage"] == "production"
    pdfsig = subprocess.run(["pdfsig", str(demo.root / ".qms/releases/1.0.0/documents/validation-report.pdf")],
                            capture_output=True, text=True, check=False).stdout
    assert pdfsig.count("Signature is Valid.") == 3


def test_tampered_bundle_is_rejected(demo: Demo, released: Path, tmp_path: Path) -> None:
    """One changed byte in the released bundle's trace data makes `qms bundle verify` exit 1 naming the file."""
    bundle = released
    with zipfile.ZipFile(bundle) as z:
        files = {n: z.read(n) for n in z.namelist()}
    name = "data/trace.json"
    files[name] = files[name].replace(b"verified", b"verifiee", 1)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    proc = demo.qms("bundle", "verify", str(forged), "--json")
    assert proc.returncode == 1 and name in {f["item"] for f in json.loads(proc.stdout)["findings"]}


def test_approval_before_review_is_refused(demo: Demo) -> None:
    """Approving a release that was not reviewed is refused (21 CFR 11.10(f)); so is signing one never authored."""
    proc = demo.qms("release", "sign", "9.9.9", "--meaning", "approved", "--user", "demo.approver",
                    stdin=PASSPHRASES["demo.approver"] + "\n")
    assert proc.returncode == 2 and "9.9.9" in proc.stderr


def test_failing_test_fails_the_gate(demo: Demo) -> None:
    """A failing test linked to a requirement, run at a commit, is a verification finding naming that requirement."""
    test = demo.root / "tests" / "test_e2e_gap.py"
    test.write_text('import pytest\n\n\n@pytest.mark.verifies("REQ-001")\ndef test_gap() -> None:\n'
                    '    """Deliberately failing."""\n    assert False\n')
    try:
        demo.git("add", "-A")
        demo.git("commit", "-qm", "a failing test")
        demo.qms("test", "--", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "tests/test_e2e_gap.py")
        assert "REQ-001" in {f["item"] for f in _findings(demo.verdict(), "verification")}
    finally:
        test.unlink()
        demo.git("commit", "-qam", "remove the failing test")


def test_suspect_link_fails_the_gate(demo: Demo) -> None:
    """Editing a need's text makes every link to it suspect: a design finding until reviewed."""
    needs = demo.root / "design" / "needs.yaml"
    before = needs.read_text()
    needs.write_text(before.replace("to be flagged", "to be flagged at once", 1))
    try:
        demo.git("commit", "-qam", "change a need")
        reasons = [f["reason"] for f in _findings(demo.verdict(), "design")]
        assert any("NEED-001 changed since the link was reviewed" in r for r in reasons), reasons
    finally:
        needs.write_text(before)
        demo.git("commit", "-qam", "restore the need")


def test_unlocked_protocol_fails_the_gate(demo: Demo) -> None:
    """A protocol the release plan names that was never locked is a validation finding naming it."""
    plan = demo.root / "release-plan.yaml"
    before = plan.read_text()
    plan.write_text(before.replace("  - VAL-BIAS-001\n", "  - VAL-BIAS-001\n  - VAL-NEW-002\n"))
    try:
        demo.git("commit", "-qam", "plan an unlocked protocol")
        assert ("VAL-NEW-002", "the protocol is not locked") in {(f["item"], f["reason"])
                                                                 for f in _findings(demo.verdict(), "validation")}
    finally:
        plan.write_text(before)
        demo.git("commit", "-qam", "restore the plan")


def test_release_refuses_a_failing_gate(demo: Demo) -> None:
    """`qms release` on a failing gate exits 1, prints the findings, and records nothing."""
    anomalies, plan = demo.root / "design" / "anomalies.yaml", demo.root / "release-plan.yaml"
    before = anomalies.read_text(), plan.read_text()
    anomalies.write_text(before[0].replace("severity: minor", "severity: critical", 1))
    plan.write_text(before[1].replace(f"version: {VERSION}", "version: 2.0.0", 1))
    try:
        demo.git("commit", "-qam", "a critical anomaly in release 2.0.0")
        proc = demo.qms("release", "2.0.0", "--user", "demo.author", stdin=PASSPHRASES["demo.author"] + "\n")
        assert proc.returncode == 1 and "ANOM-001" in proc.stdout, proc.stdout + proc.stderr
        assert not (demo.root / ".qms" / "releases" / "2.0.0").exists()
    finally:
        anomalies.write_text(before[0])
        plan.write_text(before[1])
        demo.git("commit", "-qam", "restore")
