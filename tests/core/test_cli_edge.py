"""The CLI's one error edge: user text printed verbatim, every exception caught, exit codes 1/2/3/130, no state kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qms.cli.main import make_app
from qms.cli.output import JsonOpt, fail, ok, warn
from qms.errors import CheckFailed, ExitCode, QmsError
from qms.findings import Finding, Severity
from tests.traceability.trace_helpers import NEED, write_project

runner = CliRunner()

MARKUP_LIKE = ["[/oops]", "[bold]x", "[tool.qms]", "[/b]NEED-009", "[red]", "\\[x]", ":smile:", "[link=x]y[/link]"]

# Printable text: rich strips terminal control codes (category Cc) from what it prints, by design.
user_text = st.one_of(
    st.sampled_from(MARKUP_LIKE),
    st.lists(st.one_of(st.sampled_from(MARKUP_LIKE),
                       st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)),
             min_size=1, max_size=4).map("".join),
)


def _app(command: Callable[..., None]) -> typer.Typer:
    """The real `qms` application (its edge, its options) with one test command `run` added."""
    app = make_app([])
    app.command("run")(command)
    app.command("other")(lambda: None)  # a second command keeps `run` a subcommand, as in `qms`
    return app


def _invoke(app: typer.Typer, *args: str, env: dict[str, str | None] | None = None, stdin: str | None = None
            ) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.output


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=user_text, where=user_text, hint=user_text, check_failed=st.booleans())
def test_errors_print_user_text_verbatim(message: str, where: str, hint: str, check_failed: bool) -> None:
    """A QmsError's message, where and hint print exactly as written (never as markup), with exit 1 or 2 by its kind."""
    kind = CheckFailed if check_failed else QmsError
    exc = kind(message, where=where, hint=hint)

    def run() -> None:
        raise exc

    code, out = _invoke(_app(run), "run")
    assert code == (ExitCode.CHECK_FAILED if check_failed else ExitCode.USAGE)
    assert exc.diagnostics() in out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=user_text, reason=user_text, hint=user_text, where=user_text, blocking=st.booleans())
def test_findings_and_result_lines_print_verbatim(item: str, reason: str, hint: str, where: str, blocking: bool) -> None:
    """A Finding's text and the ok/fail/warn lines print exactly as written, whatever brackets or symbols they hold."""
    finding = Finding("[check]", item, reason, hint, where, Severity.ERROR if blocking else Severity.WARNING)

    def run() -> None:
        (fail if finding.blocking else warn)(finding.text())
        ok(reason)

    code, out = _invoke(_app(run), "run")
    assert code == 0
    assert finding.text() in out and f"✓ {reason}" in out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=user_text, hint=user_text)
def test_json_errors_carry_user_text_exactly(message: str, hint: str) -> None:
    """With --json an error is also one JSON document holding the message and hint exactly."""
    def run(json_out: JsonOpt = False) -> None:
        raise QmsError(message, hint=hint)

    code, out = _invoke(_app(run), "run", "--json")
    payload = json.loads(out.splitlines()[0])
    assert code == 2 and payload["message"] == message and payload["hint"] == hint


def test_json_mode_does_not_leak_into_the_next_invocation() -> None:
    """Two invocations in one process: the first with --json prints JSON, the second without prints none."""
    def run(json_out: JsonOpt = False) -> None:
        raise QmsError("the same error")

    app = _app(run)
    code, out = _invoke(app, "run", "--json")
    assert code == 2 and json.loads(out.splitlines()[0])["message"] == "the same error"
    code, out = _invoke(app, "run")
    assert code == 2 and out.startswith("error: the same error") and "{" not in out


def _buggy() -> None:
    raise ValueError("value-that-may-be-PHI")


def test_internal_error_is_one_line_with_its_own_exit_code() -> None:
    """Any other exception exits 3 with a one-line internal-error message naming --debug, no traceback, no message."""
    code, out = _invoke(_app(_buggy), "run")
    assert code == ExitCode.INTERNAL == 3
    assert "internal error in qmskit: ValueError in _buggy" in out and "--debug" in out
    assert "Traceback" not in out and "value-that-may-be-PHI" not in out


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str) -> None:
    """With --debug (or QMS_DEBUG=1) an internal error also prints its traceback, and still exits 3."""
    args = ["--debug", "run"] if how == "flag" else ["run"]
    code, out = _invoke(_app(_buggy), *args, env={"QMS_DEBUG": "1"} if how == "env" else None)
    assert code == 3 and "Traceback" in out and "ValueError: value-that-may-be-PHI" in out


def test_internal_error_with_json_is_a_json_document() -> None:
    """With --json an internal error is reported as a JSON document of kind InternalError."""
    def run(json_out: JsonOpt = False) -> None:
        _buggy()

    code, out = _invoke(_app(run), "run", "--json")
    assert code == 3 and json.loads(out.splitlines()[0])["error"] == "InternalError"


def test_interrupt_exits_130() -> None:
    """Ctrl-C (KeyboardInterrupt) ends the command with exit 130 and a short message, no traceback."""
    def run() -> None:
        raise KeyboardInterrupt

    code, out = _invoke(_app(run), "run")
    assert code == ExitCode.INTERRUPTED == 130 and "interrupted" in out and "Traceback" not in out


def test_end_of_input_at_a_prompt_is_a_usage_error() -> None:
    """When the input ends at a hidden prompt, the command exits 2 (usage), not 1."""
    def run() -> None:
        typer.prompt("secret", hide_input=True)

    code, out = _invoke(_app(run), "run", stdin="")
    assert code == ExitCode.USAGE and "input ended" in out


def test_end_of_input_at_the_signing_passphrase_is_a_usage_error(tmp_path: Path) -> None:
    """`qms sign` with no passphrase on its input exits 2, naming the signer."""
    root = tmp_path / "device"
    app = make_app(["init", "sign"])
    assert _invoke(app, "-C", str(root), "init")[0] == 0
    (root / "doc.txt").write_text("a document\n", encoding="utf-8")
    code, out = _invoke(app, "-C", str(root), "sign", str(root / "doc.txt"), "--meaning", "authored", "--user", "alice",
                        env={"QMS_SIGNING_PASSPHRASE": None, "QMS_SIGNING_PASSPHRASE_FILE": None}, stdin="")
    assert code == 2 and "no passphrase of alice" in out


def test_end_of_input_at_a_new_passphrase_prompt_is_a_usage_error(tmp_path: Path) -> None:
    """`qms user add` whose new-passphrase prompt meets the end of input exits 2."""
    root = tmp_path / "device"
    app = make_app(["init", "user"])
    assert _invoke(app, "-C", str(root), "init")[0] == 0
    code, out = _invoke(app, "-C", str(root), "user", "add", "bob", "--name", "Bob",
                        env={"QMS_NEW_PASSPHRASE": None}, stdin="")
    assert code == 2 and "input ended" in out


def test_help_prints_brackets_and_exit_codes() -> None:
    """`--help` prints `[tool.qms.deid]` as written and documents every exit code, the internal one included."""
    code, out = _invoke(make_app(["deid"]), "deid", "dicom", "--help")
    assert code == 0 and "[tool.qms.deid]" in out
    code, out = _invoke(make_app([]), "--help")
    assert code == 0 and "3 an internal" in " ".join(out.split()) and "--debug" in out


def test_trace_prints_markup_like_ids_verbatim(tmp_path: Path) -> None:
    """`qms trace` shows a markup-like parent id and title as written, in its table and in its gap lines."""
    req = 'id: REQ-001\ntype: requirement\ntitle: "[bold]x"\ntext: t\nparents:\n  - "[/b]NEED-009"\n'
    write_project(tmp_path, {"n.yaml": NEED, "r.yaml": req})
    app = make_app(["store", "trace"])
    assert _invoke(app, "-C", str(tmp_path), "store", "migrate")[0] == 0
    code, out = _invoke(app, "-C", str(tmp_path), "trace")
    assert code == 1 and "[bold]x" in out and "[/b]NEED-009" in out and "Traceback" not in out


def test_bundle_verify_without_a_ca_names_the_missing_trust_not_a_release_none(tmp_path: Path) -> None:
    """Without a trusted CA, `bundle verify` exits 1 saying no CA is configured and how an auditor adds the manufacturer's, never "release None, 0 files"."""
    bundle = tmp_path / "release.zip"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    code, out = _invoke(make_app(["bundle"]), "bundle", "verify", str(bundle))
    assert code == 1 and "no trusted CA certificate is configured" in out and "--ca FILE" in out
    assert "manufacturer" in out and "qms ca init" not in out  # an auditor trusts the manufacturer's CA, never a new one
    assert "release None" not in out and "0 files" not in out
