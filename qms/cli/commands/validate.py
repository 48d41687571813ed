"""`qms validate run | show`: run a locked protocol, show a run's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from qms.cli import context
from qms.cli.output import JsonOpt, console, emit_json, fail, ok, print_table
from qms.errors import ExitCode

__all__ = ["register"]

if TYPE_CHECKING:  # the validation library (scikit-learn, fairlearn) loads only when a command runs
    from qms.validation.records import ValidationRun


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.4f}" if isinstance(x, float) else str(x)


def _print(run: ValidationRun, result: dict[str, Any]) -> None:
    console.print(f"run {run.id}  protocol {run.protocol_key}  model {run.model_ref}  "
                  f"dataset {run.manifest_sha256[:12]} (use {run.dataset_use})")
    table = Table("endpoint", "metric", "role", "estimate", "CI", "method", "criterion", "verdict")
    for e in result["endpoints"]:
        metric = e["metric"] + (f" at {e['prevalence']:g}" if e.get("prevalence") is not None else "")
        table.add_row(e["id"], metric, e["role"], _fmt(e["estimate"]), f"[{_fmt(e['lower'])}, {_fmt(e['upper'])}]",
                      e["ci"]["method"], e["acceptance"] or "-", e["verdict"] or "-")
    print_table(table)
    _print_generation(result.get("report_generation"))
    for b in result["bias"]:
        ci = f" [{_fmt(b.get('lower'))}, {_fmt(b.get('upper'))}]" if "lower" in b else ""
        console.print(f"bias {b['id']} ({b['kind']}, {b['attribute']}): {_fmt(b['value'])}{ci}; "
                      f"{b.get('on', 'estimate')} <= {b['max']}: {b['verdict']}")
    _print_disparities(result.get("subgroups") or {})
    flagged = [g for g in (result.get("subgroups") or {}).get("groups", []) if g["flags"]]
    for g in flagged:
        console.print(f"  flagged {g['attribute']}={g['group']} (n={g['n']}): {'; '.join(g['flags'])}")
    ind = result["independence"]
    console.print(f"independence: overlap patients {ind['overlap']['patients']}, studies {ind['overlap']['studies']}, "
                  f"files {ind['overlap']['files']} against {len(ind['training_manifests'])} training manifest(s)")
    _print_evidence(result)
    _print_review(result)
    (ok if run.verdict == "pass" else fail)(f"verdict: {run.verdict.upper()}")
    for reason in result["reasons"]:
        console.print(f"  - {reason}")
    console.print(f"artefacts in {run.out_dir}")


def _print_generation(rg: dict[str, Any] | None) -> None:
    """Generated-report endpoints and safety rates (examples are case ids; generated text is never printed)."""
    if not rg:
        return
    table = Table("endpoint", "metric", "role", "estimate", "CI", "criterion", "verdict",
                  title=f"generated reports: {rg['predictions']['cases']} cases; {rg['uncertain_statement']}")
    for e in rg["endpoints"]:
        metric = e["metric"] + (f" of {e['finding']}" if e.get("finding") else "")
        table.add_row(e["id"], metric, e["role"], _fmt(e["estimate"]), f"[{_fmt(e['lower'])}, {_fmt(e['upper'])}]",
                      e["acceptance"] or "-", e["verdict"] or "-")
    print_table(table)
    for c in rg["safety"]:
        console.print(f"safety {c['check']}: {c['flagged']}/{c['eligible']} = {_fmt(c['estimate'])} "
                      f"[{_fmt(c['lower'])}, {_fmt(c['upper'])}]; cases {', '.join(c['examples']) or '-'}")


def _print_evidence(result: dict[str, Any]) -> None:
    """Near-duplicates, sample size, reference standard and time-to-notification (runs before them lack the keys)."""
    nd = (result.get("independence") or {}).get("near_duplicates")
    if nd:
        console.print(f"near-duplicate images: {nd['count']} pairs ({nd['exact']} exact) within {nd['max_distance']} bits, "
                      f"{nd['test_images']} test x {nd['training_images']} training images, action {nd['action']}"
                      + (f", {len(nd['unreadable_training'])} training images not hashed" if nd["unreadable_training"] else ""))
    ss = result.get("sample_size")
    if ss:
        needed = ", ".join(f"{ss['needed'][k]} {k}" for k in ("positives", "negatives", "cases") if k in ss["needed"])
        console.print(f"sample size ({ss['endpoint']}, expected {ss['expected']:g}, goal {ss['goal']:g}, power {ss['power']:g}): "
                      f"needs {needed}; has {ss['actual']['positives']} positives, {ss['actual']['negatives']} negatives "
                      f"(power {ss['achieved_power']:.3f}); "
                      f"{'adequate' if ss['adequate'] else 'SHORT'}")
    rs = result.get("reference_standard")
    if rs:
        st = rs["statement"]
        if st:
            console.print(f"reference standard {st['version']}: {st['readers']['count']} readers "
                          f"({st['readers']['qualifications']}); adjudication: {st['adjudication']}")
        else:
            console.print("reference standard: not stated in the protocol")
        for label, a in rs["agreement"].items():
            if a:
                console.print(f"  {label}: {a['statistic'] or 'kappa'} {_fmt(a['kappa'])} over {a['cases']} cases, "
                              f"readers {', '.join(a['readers'])}")
    ttn = result.get("time_to_notification")
    if ttn:
        d = ttn["distribution"]
        dist = (f"median {d['median']:.3f} s, p90 {d['p90']:.3f} s, p95 {d['p95']:.3f} s, max {d['max']:.3f} s"
                if d else "not measured")
        console.print(f"time-to-notification: {dist}" + (f"; {ttn['criterion']}: {ttn['verdict']}" if ttn["criterion"] else ""))


def _print_review(result: dict[str, Any]) -> None:
    """Cohort flow, errors at each locked threshold, robustness, repeatability, deviations, conclusion (when recorded)."""
    flow = (result.get("data") or {}).get("flow")
    if flow:
        reasons = "; ".join(f"{x['reason']}: {x['cases']}" for x in flow["excluded_by_reason"])
        console.print(f"cohort: {flow['assessed']} assessed, {flow['excluded']} excluded"
                      + (f" ({reasons})" if reasons else "") + f", {flow['included']} included, "
                      f"{flow['device_failures']} device failures counted as errors, {flow['analysed']} analysed")
    for op in (result.get("failure_analysis") or {}).get("operating_points", []):
        console.print(f"errors at {op['label']} >= {op['threshold']:g} ({', '.join(op['endpoints'])}): "
                      f"{op['fn']['count']} false negatives, {op['fp']['count']} false positives")
    rb = result.get("robustness")
    if rb:
        short = sum(e["meets"] is False for s in rb["strata"] for e in s["endpoints"].values())
        console.print(f"robustness: {len(rb['strata'])} strata of {', '.join(rb['attributes'])}, "
                      f"{sum(not s['sufficient'] for s in rb['strata'])} below the minimum, {short} endpoint(s) short")
    rp = result.get("repeatability")
    if rp:
        console.print(f"repeatability: {rp['cases']} cases run again, largest difference {rp['max_abs_difference']:.3g} "
                      f"(limit {rp['criterion']:g}): {rp['verdict']}")
    if "deviations" in result:
        console.print("deviations from protocol: " + ("; ".join(result["deviations"]) or "none"))
    if result.get("conclusion"):
        console.print(f"conclusion: {result['conclusion']}")


_SHORT = {"auroc": "auroc", "sensitivity": "sens", "specificity": "spec"}


def _print_disparities(sg: dict[str, Any]) -> None:
    """Sufficient groups' AUROC, sensitivity and specificity against their reference, and a line per intersection.

    Runs recorded before these keys print nothing here; every metric's disparity is in --json.
    """
    for inter in sg.get("intersections") or []:
        cells = [g for g in sg["groups"] if g["attribute"] == inter["attribute"]]
        console.print(f"intersection {inter['attribute']}: {len(cells)} cells, "
                      f"{sum(not g['sufficient'] for g in cells)} below the minimum (descriptive only)")
    rows = [(g, m, d) for g in sg.get("groups", []) if g["sufficient"]
            for m, d in (g.get("disparity") or {}).items() if m in _SHORT]
    if not rows:
        return

    def cell(v: dict[str, Any]) -> str:
        return "n/a" if v["estimate"] is None else \
            f"{v['estimate']:.3f} [{_fmt3(v['lower'])}, {_fmt3(v['upper'])}]"

    references = (sg.get("disparity") or {}).get("references") or {}
    against = ", ".join(f"{a} against {r}" for a, r in references.items()) or "each group against its complement"
    table = Table("group", "metric", title=f"disparity (percentile CI): {against}", box=box.SIMPLE, pad_edge=False)
    table.add_column("difference", no_wrap=True)
    table.add_column("ratio", no_wrap=True)
    for g, m, d in rows:
        table.add_row(f"{g['attribute']}={g['group']}", _SHORT[m], cell(d["difference"]), cell(d["ratio"]))
    print_table(table)


def _fmt3(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Validation runs of locked protocols.", no_args_is_help=True)
    app.add_typer(group, name="validate")

    @group.command("run")
    def run_cmd(
        ctx: typer.Context,
        protocol: Annotated[Path, typer.Argument(help="the locked protocol's YAML file")],
        out: Annotated[Path | None, typer.Option(help="folder for the run's artefacts (default: .qms/validation)")] = None,
        device: Annotated[str | None, typer.Option(help="cpu or cuda (default: the GPU when there is one)")] = None,
        batch_size: Annotated[int, typer.Option(help="inference batch size")] = 32,
        engine: context.EngineOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Run the protocol exactly as locked; exit 1 when the verdict is fail."""
        from qms.validation.inputs import registry_identity
        from qms.validation.run import model_predictor, run_protocol

        proj = context.project(ctx)
        store = context.store(proj)
        actor = context.audit_actor(proj, store)
        runner = context.engine(proj, engine)  # local: today's DataLoader pipeline in this process
        outcome = run_protocol(store, protocol, proj.root, actor, out_dir=out or proj.records_dir / "validation",
                               predictor=model_predictor(store, device=device, batch_size=batch_size, root=proj.root,
                                                         engine=None if runner.name == "local" else runner),
                               identity=registry_identity(store))
        if json_out:
            emit_json(outcome.result)
        else:
            _print(outcome.run, outcome.result)
        if outcome.run.verdict != "pass":
            raise typer.Exit(int(ExitCode.CHECK_FAILED))

    @group.command("show")
    def show_cmd(
        ctx: typer.Context,
        run: Annotated[str | None, typer.Argument(help="a run id (or its first 6+ characters); all runs when left out")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """A run's endpoints, intervals, bias criteria and verdict, as recorded."""
        from qms.validation.run import runs, show

        store = context.store(context.project(ctx), create=False)
        if run is None:
            rows = runs(store)
            if json_out:
                emit_json([{"run": r.id, "protocol": r.protocol_key, "model": r.model_ref, "verdict": r.verdict,
                            "dataset_use": r.dataset_use, "created_at": r.created_at.isoformat()} for r in rows])
                return
            table = Table("run", "time (UTC)", "protocol", "model", "dataset use", "verdict")
            for r in rows:
                table.add_row(r.id, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.protocol_key, r.model_ref,
                              str(r.dataset_use), r.verdict)
            print_table(table)
            return
        rec = show(store, run)
        result = json.loads(rec.result)
        if json_out:
            emit_json({**result, "environment": json.loads(rec.environment), "result_sha256": rec.result_sha256})
        else:
            _print(rec, result)
