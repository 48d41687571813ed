"""JSON Schema of every file a user writes, from the definitions its loader validates with.

The configuration, the model card and the training recipe are pydantic models: their
schema is pydantic's own. Design items are built from the traceability field tables.
The release plan, the SOUP list, the anomaly register and the protocol are read by
hand-written loaders: their schemas are written here (the protocol's less common sections
taken from its parser's key set), and a test holds them to the loaders' key sets and
validates the example device's files against them, so the two cannot drift. Editors read them through `# yaml-language-server: $schema=...` lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["KINDS", "schema"]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]


def _text(description: str) -> Schema:
    return {"type": "string", "minLength": 1, "description": description}


def _config() -> Schema:
    from qms.config import ProjectConfig

    return ProjectConfig.model_json_schema()


def _model_card() -> Schema:
    from qms.models.card import ModelCard

    return ModelCard.model_json_schema()


def _training_recipe() -> Schema:
    from qms.models.training import TrainConfig

    return TrainConfig.model_json_schema()


def _design_item() -> Schema:
    from qms.traceability.items import (
        ALLOWED_PARENTS, CLASSIFIED, CONTROL_TYPES, HAZARD_FIELDS, REQUIRED_FIELDS, TYPE_FIELDS, ItemType,
    )

    level = {"type": "integer", "minimum": 1, "maximum": 5}
    parent = {"oneOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1,
                                            "additionalProperties": {"type": ["string", "null"]}}],
              "description": "a parent id, or `ID: fingerprint` once the link is reviewed (`qms trace review`)"}
    fields: Schema = {
        "id": _text("stable id, PREFIX-NNN (REQ-001); never reused"),
        "type": {"enum": [t.value for t in ItemType]},
        "title": _text("a short title"), "text": _text("what the item says"),
        "parents": {"type": "array", "items": parent},
        "safety_class": {"enum": ["A", "B", "C"], "description": "IEC 62304 §4.3, at most the system's class"},
        "hazardous_situation": _text("who is exposed to what"), "harm": _text("the injury or damage"),
        "severity": level, "probability": level, "residual_severity": level, "residual_probability": level,
        "benefit_risk": _text("why the benefit outweighs an ALARP residual risk (ISO 14971 §7.4)"),
        "control_type": {"enum": list(CONTROL_TYPES), "description": "ISO 14971 §7.1"},
    }
    assert set(fields) == {"id", "type", "title", "text", "parents", "safety_class", *HAZARD_FIELDS, "control_type"}
    by_type = []
    for t in ItemType:
        allowed = ["id", "type", "title", "text", *(["parents"] if ALLOWED_PARENTS[t] else []),
                   *(["safety_class"] if t in CLASSIFIED else []), *TYPE_FIELDS[t]]
        by_type.append({"if": {"properties": {"type": {"const": t.value}}},
                        "then": {"required": list(REQUIRED_FIELDS[t]),
                                 "propertyNames": {"enum": allowed}}})
    return {"type": "object", "properties": fields, "required": ["id", "type"], "allOf": by_type,
            "description": "one design item per YAML document (separate items with ---)"}


def _release_plan() -> Schema:
    names = {"type": "array", "items": {"type": "string", "minLength": 1}}
    return {"type": "object", "additionalProperties": False, "required": ["version", "signatures"], "properties": {
        "version": {"type": "string", "description": "the release's version, as text: quote a number (`\"1.10\"`)"},
        "model": {"type": "string", "pattern": "^[^@]+@[^@]+$",
                  "description": "the registered model, NAME@VERSION: required in a device project "
                                 "(`kind = \"device\"`, the default); a tool project's plan names none"},
        "protocols": {**names, "description": "ids of the locked validation protocols"},
        "signatures": {"type": "object", "additionalProperties": False,
                       "properties": {r: {**names, "minItems": 1} for r in ("author", "reviewer", "approver")},
                       "required": ["author", "reviewer", "approver"],
                       "description": "role -> user ids who may sign in it; every role names at least one"},
        "anomaly_threshold": {"enum": ["minor", "major", "critical"]},
        "soup_file": {"type": "string"}, "anomaly_file": {"type": "string"},
        "references": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "IEC 62304 deliverable number (docs/reference/deliverables.md) -> project file"},
        "separation_of_duties": {"type": "object", "additionalProperties": {"enum": ["distinct", "shared"]},
                                 "description": "safety class -> distinct | shared"},
        "roster": {"type": "string", "description": "the approved signing roster file"},
        "tool_validation": {"enum": ["required", "optional"]},
    }}


_SOUP_FIELDS = {
    "name": "the distribution's name", "version": "the version reviewed",
    "purpose": "what the device uses it for", "requirements": "its functional and performance requirements (§5.3.3)",
    "anomaly_review": "its published anomalies reviewed for hazardous impact (§7.1.3)",
    "level_of_support": "who supports it", "end_of_support": "when support ends",
    "known_vulnerabilities": "known vulnerabilities at review",
}


def _soup() -> Schema:
    entry = {"type": "object", "additionalProperties": False, "required": list(_SOUP_FIELDS),
             "properties": {k: {"type": ["string", "number", "array", "object"], "description": d}
                            for k, d in _SOUP_FIELDS.items()}}
    return {"type": "object", "required": ["soup"], "properties": {"soup": {"type": "array", "items": entry}}}


def _anomalies() -> Schema:
    from qms.anomalies import AnomalySeverity, AnomalyStatus

    entry = {"type": "object", "additionalProperties": False, "required": ["id", "title", "severity", "status"],
             "properties": {"id": {"type": "string", "pattern": "^[A-Za-z]+-[0-9]+$"}, "title": _text("what goes wrong"),
                            "severity": {"enum": [v.value for v in AnomalySeverity]},
                            "status": {"enum": [v.value for v in AnomalyStatus],
                                       "description": "open and deferred anomalies are residual in a release"},
                            "evaluation": {"type": "string", "description": "its contribution to hazards (§5.8.3)"},
                            "found_in": {"type": ["string", "number"]}, "fixed_in": {"type": ["string", "number"]}}}
    return {"type": "object", "required": ["anomalies"],
            "properties": {"anomalies": {"type": "array", "items": entry}}}


def _signing_roster() -> Schema:
    from qms.signing.identity import USER_ID
    from qms.signing.roster import _PERSON_ONLY, ROSTER_KIND, Duty, IdentityKind

    service_may = [d.value for d in Duty if d not in _PERSON_ONLY]
    entry = {"type": "object", "additionalProperties": False, "required": ["kind", "roles"], "properties": {
        "kind": {"enum": [k.value for k in IdentityKind],
                 "description": "a person, or a service (a CI pipeline: it may only " + " or ".join(service_may) + ")"},
        "roles": {"type": "array", "minItems": 1, "items": {"enum": [d.value for d in Duty]},
                  "description": "its duties: sign a release as author, reviewer or approver; quality approves the "
                                 "roster; seal seals a bundle"},
        "documents": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                      "default": ["*"], "description": "shell patterns over the document names it may sign"}},
        "if": {"properties": {"kind": {"const": IdentityKind.SERVICE.value}}},
        "then": {"properties": {"roles": {"items": {"enum": service_may}}}}}
    return {"type": "object", "additionalProperties": False, "required": ["identities"], "properties": {
        "kind": {"const": ROSTER_KIND, "description": "optional: the roster format"},
        "identities": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": USER_ID.pattern},
                       "additionalProperties": entry, "description": "user id -> its kind, roles and documents"}},
        "description": "Who may sign which document, in which role (21 CFR 11.10(g)); a quality person approves it "
                       "with `qms roster approve`."}


_SHA256: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$",
                   "description": "optional pin: `qms protocol lock` refuses any other hash (it records the hash either way)"}
_ACCEPTANCE: Schema = {"type": "string", "pattern": r"^\s*(lower|estimate|upper)\s*(>=|>|<=|<)\s*-?[0-9]*\.?[0-9]+\s*$",
                       "description": "the pass criterion: lower, estimate or upper; >=, >, <= or <; a number (`lower >= 0.80`)"}


def _protocol() -> Schema:
    from qms.validation.criteria import Role
    from qms.validation.intervals import CIMethod
    from qms.validation.metrics import Metric
    from qms.validation.protocolparser import _TOP as sections  # the loader's own key set: the two cannot drift
    from qms.validation import report_generation

    ci = {"type": "object", "additionalProperties": False, "description": "a confidence interval specification",
          "properties": {"method": {"enum": [m.value for m in CIMethod]},
                         "level": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                         "resamples": {"type": "integer", "minimum": 100, "maximum": 1_000_000},
                         "seed": {"type": "integer"}}}
    endpoint = {"type": "object", "additionalProperties": False, "required": ["id", "metric", "role"], "properties": {
        "id": _text("unique within the protocol"), "metric": {"enum": [m.value for m in Metric]},
        "label": _text("one of `labels`"), "labels": {"type": "array", "items": {"type": "string"},
                                                      "description": "the labels a mean_auroc averages"},
        "threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "the operating point"},
        "role": {"enum": [r.value for r in Role], "description": "every primary endpoint must meet its acceptance"},
        "ci": ci, "acceptance": _ACCEPTANCE,
        "prevalence": {"type": "number", "description": "PPV/NPV at this prevalence instead of the test set's"},
        "notes": {"type": "string"}}}
    properties: Schema = {
        "id": _text("the protocol's id, e.g. VAL-PERF-001 (named in the release plan's `protocols`)"),
        "version": {"type": ["string", "number"], "description": "the protocol's version"},
        "title": _text("what it validates"),
        "model": {"type": "object", "additionalProperties": False, "required": ["ref"],
                  "description": "the model version validated", "properties": {
            "ref": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._+-]*$",
                    "description": "the registered model, NAME@VERSION"}, "sha256": _SHA256}},
        "dataset": {"type": "object", "additionalProperties": False, "required": ["manifest", "root"],
                    "description": "the sequestered test data", "properties": {
            "manifest": _text("the test split's dataset manifest (`qms dataset create --split test`)"),
            "root": _text("the folder the manifest's file paths are relative to"), "sha256": _SHA256}},
        "training_manifests": {"type": "array", "items": {"type": "string"},
                               "description": "training manifests: a test patient in one of them fails the run"},
        "labels": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "the labels evaluated"},
        "seed": {"type": "integer", "description": "seeds every resampling"},
        "ci": ci,
        "endpoints": {"type": "array", "minItems": 1, "items": endpoint,
                      "description": "what is measured; at least one primary endpoint"},
        "multiplicity": {"type": "object", "additionalProperties": False, "required": ["method", "statement"],
                         "description": "how several primary endpoints are judged together",
                         "properties": {"method": {"enum": ["bonferroni", "descriptive"]}, "family": {"type": "string"},
                                        "statement": _text("why this handling")}},
        "intended_use": {"type": "string", "description": "the intended use the protocol assumes"},
        "notes": {"type": "string", "description": "free text for the report"},
    }
    properties["report_generation"] = report_generation.schema(ci, _ACCEPTANCE)
    properties.update({k: {"description": f"the protocol's {k.replace('_', ' ')} (see `qms protocol check`)"}
                       for k in sorted(sections - set(properties))})
    required = ["id", "version", "title", "model", "dataset", "labels", "seed", "multiplicity"]
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties,
            "anyOf": [{"required": ["endpoints"]}, {"required": ["report_generation"]}],
            "description": "a validation protocol; `qms protocol check` checks every section in depth, "
                           "`qms protocol lock` freezes it with its model and dataset"}


KINDS: dict[str, tuple[str, Callable[[], Schema]]] = {
    "config": ("[tool.qms] in pyproject.toml, or qms.toml", _config),
    "design-item": ("a design item (design/*.yaml)", _design_item),
    "release-plan": ("release-plan.yaml", _release_plan),
    "soup": ("the SOUP list (soup.yaml)", _soup),
    "anomalies": ("the anomaly register (design/anomalies.yaml)", _anomalies),
    "signing-roster": ("the signing roster (signing-roster.yaml)", _signing_roster),
    "protocol": ("a validation protocol (protocols/*.yaml)", _protocol),
    "model-card": ("a model card (model_card.yaml)", _model_card),
    "training-recipe": ("a training recipe (train.yaml)", _training_recipe),
}
"""Each kind: the file it describes, and how its schema is made."""


def schema(kind: str) -> Schema:
    """The JSON Schema of `kind` (a key of KINDS), with its title and dialect."""
    what, make = KINDS[kind]
    return {"$schema": _DRAFT, "$id": f"qmskit:{kind}", "title": f"qmskit {kind}: {what}", **make()}
