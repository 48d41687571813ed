"""`qms new KIND`: a new design item or protocol with the next free id, or a release plan, every field commented."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from qms import atomic
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok
from qms.config import Project
from qms.errors import QmsError
from qms.starter import schema_ref

__all__ = ["Kind", "register"]


class Kind(str, Enum):
    """What `qms new` writes: the design item types (ISO 14971, IEC 62304 words), a protocol and the release plan."""

    NEED = "need"
    REQUIREMENT = "requirement"
    ARCHITECTURE = "architecture"
    HAZARD = "hazard"
    RISK_CONTROL = "risk-control"
    PROTOCOL = "protocol"
    RELEASE_PLAN = "release-plan"


def _protocol(project: Project) -> tuple[Path, str, str]:
    """The next free standalone performance protocol, naming the release plan's model where the plan names one."""
    from qms.release_plan import plan_path
    from qms.starter import PROTOCOL_PREFIX, STARTER_MODEL, protocol_template
    from qms.traceability.template import next_id
    from qms.yamlfile import load

    try:
        plan = load(plan_path(project)).data
    except QmsError:  # no plan yet, or not YAML: `qms verify` reports it
        plan = None
    model = plan.get("model") if isinstance(plan, dict) else None
    existing = [p.stem.upper() for p in project.protocols_dir.glob("*.yaml")]
    item_id = next_id(existing, PROTOCOL_PREFIX, lambda i: (project.protocols_dir / f"{i}.yaml").exists())
    path = project.protocols_dir / f"{item_id}.yaml"
    return path, item_id, protocol_template(item_id, str(model or STARTER_MODEL), schema_ref(project.records_dir, "protocol", path))


def register(app: typer.Typer) -> None:
    @app.command("new")
    def new(
        ctx: typer.Context,
        kind: Annotated[Kind, typer.Argument(help="what to write", case_sensitive=False)],
        parent: Annotated[list[str] | None, typer.Option("--parent", help="a parent item id (repeat for more)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Write a new item (design/<id>.yaml, protocols/<id>.yaml: the next free id) or release-plan.yaml, valid as written."""
        project = context.project(ctx)
        if kind is Kind.PROTOCOL:
            path, item_id, text = _protocol(project)
        elif kind is Kind.RELEASE_PLAN:
            from qms.release_plan import plan_path
            from qms.starter import release_plan_template

            path, item_id = plan_path(project), None
            text = release_plan_template(schema_ref(project.records_dir, "release-plan", path))
        else:
            from qms.traceability import ItemType, load_project_design
            from qms.traceability.design import prefixes
            from qms.traceability.items import ALLOWED_PARENTS, REQUIRED_FIELDS, with_article
            from qms.traceability.template import item_template, next_id

            item_type = ItemType(kind.value.replace("-", "_"))
            design = load_project_design(project)
            parents = tuple(parent or ())
            candidates = sorted(i.id for i in design.items.values() if i.type in ALLOWED_PARENTS[item_type])
            for pid in parents:
                found = design.items.get(pid)
                if found is None:
                    raise QmsError(f"no design item {pid}", where=pid, hint=f"existing parents for "
                                   f"{with_article(item_type.value)}: {', '.join(candidates[:8]) or 'none yet'}")
                if found.type not in ALLOWED_PARENTS[item_type]:
                    allowed = ", ".join(sorted(t.value for t in ALLOWED_PARENTS[item_type])) or "none"
                    raise QmsError(f"{pid} ({with_article(found.type.value)}) cannot be the parent of "
                                   f"{with_article(item_type.value)}", where=pid,
                                   hint=f"a parent must be an existing item of type: {allowed}")
            if "parents" in REQUIRED_FIELDS[item_type] and not parents:
                first = [t for t in ALLOWED_PARENTS[item_type] if t is not item_type]  # not one needing a parent itself
                raise QmsError(f"{with_article(item_type.value)} needs a parent",
                               hint=f"pass --parent ID (e.g. {', '.join(candidates[:5])})" if candidates else
                               "write its parent first: " + ", ".join(f"`qms new {t.value.replace('_', '-')}`"
                                                                       for t in sorted(first, key=lambda t: t.value)))
            item_id = next_id(design.items, prefixes(project.config.id_prefixes, str(project.source))[item_type],
                              lambda i: (project.design_dir / f"{i.lower()}.yaml").exists())
            path = project.design_dir / f"{item_id.lower()}.yaml"
            text = item_template(item_type, item_id, parents, project.config.safety_class.value,
                                 schema_ref(project.records_dir, "design-item", path))
        if path.exists():
            raise QmsError("the file already exists", where=str(path), hint="nothing was changed; edit it instead")
        atomic.write_text(path, text)
        shown = path.relative_to(project.root).as_posix()
        if json_out:
            emit_json({"path": shown, "id": item_id})
        else:
            todo = "its labels, endpoints and acceptance" if kind is Kind.PROTOCOL else "its title and text"
            ok(f"wrote {shown}" + (f" ({item_id}): fill in {todo}" if item_id else ""))
