"""Starting files a new device project fills in: its release plan, SOUP list, anomaly register and protocol.

Each loads as written and says, through `qms verify`, what is still to do (a model to
register, protocols to name, people to sign, a review of each dependency), so a new user
never starts from an empty page or from the example's 136 lines.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from qms import atomic
from qms.soup.runtime import RuntimeDependency

__all__ = ["PLACEHOLDER_MARKERS", "PROTOCOL_PREFIX", "SOUP_PLACEHOLDERS", "STARTER_MODEL", "anomaly_template",
           "protocol_template", "release_plan_template", "schema_ref", "soup_placeholders", "soup_template"]


STARTER_MODEL = "my-model@0.1.0"
"""The model the starting release plan and protocol name until the project registers its own."""


def schema_ref(records_dir: Path, kind: str, for_file: Path) -> str:
    """The path, relative to `for_file`, of `kind`'s JSON Schema under the records folder (written if absent).

    Editors read it from the file's `# yaml-language-server: $schema=` line; the records
    folder is the installed qmskit's, so the schema is the one this version validates with.
    """
    from qms.schemas import schema

    path = records_dir / "schemas" / f"{kind}.schema.json"
    if not path.is_file():
        atomic.write_text(path, json.dumps(schema(kind), indent=2, sort_keys=True) + "\n")
    return Path(os.path.relpath(path, for_file.parent)).as_posix()


def _schema_line(schema: str | None) -> str:
    return f"# yaml-language-server: $schema={schema}\n" if schema else ""


def release_plan_template(schema: str | None = None) -> str:
    """A release plan that loads; `qms verify` then names the model, protocols and signers still to set."""
    return _schema_line(schema) + f"""\
# What this release needs before it may ship (read by `qms verify`; ISO 13485 §7.3.7).
version: 0.1.0
# the model version released, as registered: `qms model register FOLDER --name NAME --version VERSION`
model: {STARTER_MODEL}
# the locked validation protocols whose passed runs release it (`qms protocol lock`, `qms validate run`)
protocols: []
# residual anomalies above this severity block the release (IEC 62304 §5.8.2): minor, major or critical
anomaly_threshold: minor
# who signs each evidence document (user ids from `qms user add`); distinct people by default
signatures:
  author: [author.id]
  reviewer: [reviewer.id]
  approver: [approver.id]
# the reviewed SOUP list and the anomaly register (IEC 62304 §8.1.2, §9)
soup_file: soup.yaml
anomaly_file: design/anomalies.yaml
"""


PLACEHOLDER_MARKERS = ("TODO", "TBD", "FIXME", "XXX")
"""Words that mark a value as not yet written: a field holding one (as a word, in capitals) is a finding."""
SOUP_PLACEHOLDERS = {
    "purpose": "what the device uses it for",
    "requirements": "the requirements it takes part in (IEC 62304 §5.3.3)",
    "anomaly_review": "on DATE by WHO, its published anomalies reviewed for hazardous impact (§7.1.3)",
    "level_of_support": "who supports it (e.g. community-maintained open source)",
    "end_of_support": "none announced, or the date",
    "known_vulnerabilities": "none known at review (checked against ...), or the list",
}
"""The text `soup_template` writes for each field of an entry; an entry still holding it was never reviewed."""
_MARKER = re.compile(rf"\b({'|'.join(PLACEHOLDER_MARKERS)})\b")


def soup_placeholders(values: Mapping[str, str]) -> list[str]:
    """The fields of a SOUP entry still holding the template's text or a placeholder marker (TODO, TBD, ...)."""
    return [k for k, v in values.items()
            if " ".join(v.split()) == SOUP_PLACEHOLDERS.get(k) or _MARKER.search(v)]


def soup_template(dependencies: Iterable[RuntimeDependency], installed: Mapping[str, str],
                  schema: str | None = None) -> str:
    """The SOUP list started from the runtime dependencies, each entry commented out until someone reviews it.

    An entry left commented is a finding of `qms verify` naming the dependency, so nothing
    unreviewed passes as reviewed.
    """
    blocks = []
    for dep in dependencies:
        blocks.append(f"""\
#  - name: {dep.name}  # {dep.why}
#    version: "{installed.get(dep.name, 'not installed')}"
#    purpose: {SOUP_PLACEHOLDERS['purpose']}
#    requirements: {SOUP_PLACEHOLDERS['requirements']}
#    anomaly_review: {SOUP_PLACEHOLDERS['anomaly_review']}
#    level_of_support: {SOUP_PLACEHOLDERS['level_of_support']}
#    end_of_support: {SOUP_PLACEHOLDERS['end_of_support']}
#    known_vulnerabilities: {SOUP_PLACEHOLDERS['known_vulnerabilities']}""")
    listed = "\n".join(blocks) if blocks else "#  - name: numpy  # an example; list each runtime dependency"
    return _schema_line(schema) + f"""\
# SOUP: each direct runtime dependency, reviewed at the version named (IEC 62304 §5.3.3, §7.1.2-§7.1.3, §8.1.2).
# Uncomment an entry once its review is done (the first one: write `soup:` for `soup: []`);
# `qms verify` names each runtime dependency not listed.
soup: []
{listed}
"""


def anomaly_template(schema: str | None = None) -> str:
    """An empty anomaly register, with the fields of an entry as a comment (IEC 62304 §5.8.2, §9)."""
    return _schema_line(schema) + """\
# Known anomalies of the software (IEC 62304 §5.8.2, §9); open ones above the release plan's
# anomaly_threshold block a release, and every residual one needs its evaluation.
anomalies: []
#  - id: ANOM-001
#    title: what goes wrong
#    severity: minor          # minor, major or critical
#    status: open             # open, deferred (residual in the release) or resolved
#    found_in: 0.1.0
#    evaluation: why it does (or does not) contribute to a hazard
"""


PROTOCOL_PREFIX = "VAL-PERF"
"""The id prefix of the protocols `qms init` and `qms new protocol` write (standalone performance)."""


def protocol_template(protocol_id: str, model_ref: str, schema: str | None = None) -> str:
    """A standalone performance protocol that `qms protocol check` accepts as written, every section commented.

    It names the release plan's model and the test split's usual manifest; `qms protocol lock`
    then says what is missing on disk (the registered model, the manifest) before anything is frozen.
    """
    return _schema_line(schema) + f"""\
# A validation protocol (ISO 13485 §7.3.7): written, checked and locked before its run.
#   qms protocol check FILE; qms protocol lock FILE --sign; qms validate run FILE
# docs/reference/protocol.md describes every section, the optional ones listed at the end too.
id: {protocol_id}
version: "1.0"
title: Standalone performance of {model_ref} on the sequestered test split
# the registered model version it validates (`qms model register`); the lock records its hash
model:
  ref: {model_ref}
# the sequestered test split (`qms dataset create ... --split test`), paths relative to root
dataset:
  manifest: data/manifests/test.json
  root: data/deid
# the training splits: the run fails when a test patient is also in one of them
training_manifests:
  - data/manifests/train.json
# the model's output labels this protocol evaluates (as in its model card)
labels: [finding]
seed: 1
# the endpoints' confidence intervals, unless an endpoint sets its own `ci`
ci:
  method: bootstrap-percentile  # bootstrap-percentile, bootstrap-bca, delong, wilson, clopper-pearson
  level: 0.95
  resamples: 2000
endpoints:
  - id: FINDING-AUROC
    metric: auroc  # auroc, mean_auroc, sensitivity, specificity, ppv, npv, f1, flag_rate
    label: finding
    role: primary  # every primary endpoint must meet its acceptance for the run to pass
    acceptance: lower >= 0.80  # lower, estimate or upper; >=, >, <= or <; a number
#  - id: FINDING-SENS
#    metric: sensitivity
#    label: finding
#    threshold: 0.5  # the operating point, as in the model card
#    role: secondary  # reported, judged by no acceptance
multiplicity:
  method: descriptive  # descriptive (one primary endpoint, or all must pass) or bonferroni
  statement: One primary endpoint; no adjustment for multiplicity is needed.
# Optional sections: subgroups, bias, reference_standard, sample_size, data, robustness,
# repeatability, independence, limitations, time_to_notification, interpretation, post_market,
# worklist, intended_use, notes.
"""
