"""Check 5: the SOUP list is current (IEC 62304 §8.1.2, §5.3.3, §7.1.3)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.models import registry
from qms.models.card import ModelFormat
from qms.soup.runtime import RuntimeDependency, class_distributions, declared_dependencies
from qms.starter import soup_placeholders

__all__ = ["SoupCurrent"]


class SoupCurrent(Criterion[GateContext]):
    """Every reviewed dependency is installed at the version its review covers, and every runtime dependency is reviewed."""

    name = "soup"
    title = "SOUP list current"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        soup = ctx.soup
        out = [self.finding(f"SOUP:{e.name}", f"listed in the soup file ({e.where}) but not installed",
                            "remove the entry or install the dependency") for e in soup.unmatched]
        for item in soup.items:
            e, d = item.entry, item.distribution
            if e is not None and e.version != d.version:
                out.append(self.finding(f"SOUP:{d.name}", f"reviewed at version {e.version}, installed {d.version}",
                                        f"review {d.name} {d.version} (anomalies, requirements) and update {e.where}"))
        for e in [i.entry for i in soup.items if i.entry is not None] + list(soup.unmatched):
            fields = soup_placeholders({k: v for k, v in e.to_json().items() if k not in ("name", "version")})
            if fields:
                out.append(self.finding(f"SOUP:{e.name}", f"{e.where}: {', '.join(fields)} still the template's "
                                        "placeholder (or TODO, TBD): the review is not written",
                                        f"write the review of {e.name} in {', '.join(fields)}, then `qms verify`"))
        reviewed = {i.distribution.name for i in soup.items if i.entry is not None} | {e.name for e in soup.unmatched}
        runtime, model, network = _model_runtime(ctx)
        for dep in declared_dependencies(ctx.project.root, runtime, model, network):
            if dep.name not in reviewed:
                out.append(self.finding(f"SOUP:{dep.name}", f"a runtime dependency ({dep.why}) is not in the soup file",
                                        f"add {dep.name} to {ctx.plan.soup_file} with its purpose, requirements and "
                                        "anomaly review (IEC 62304 §8.1.2, §7.1.3)"))
        return out, len(soup.items)


def _model_runtime(ctx: GateContext) -> tuple[tuple[str, ...], str, list[RuntimeDependency]]:
    """What the release's model runs on, by its registered card: its format's runtime, and the distribution of a
    torch model's network class; nothing when it is not registered."""
    if ctx.plan.model is None:
        return (), "", []  # a tool project: its declared dependencies are its whole runtime
    try:
        architecture = json.loads(registry.get(ctx.store, ctx.plan.model).card)["architecture"]
        runtime = ModelFormat(architecture["format"]).runtime
    except (QmsError, KeyError, TypeError, ValueError):
        return (), ctx.plan.model, []  # an unregistered model is the validation criterion's finding
    network = architecture.get("torch_class")
    owners = class_distributions(ctx.project.root, network) if isinstance(network, str) else ()
    return runtime, ctx.plan.model, [RuntimeDependency(name, f"model {ctx.plan.model}'s network class {network} "
                                                             "comes from it") for name in owners]
