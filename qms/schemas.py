"""JSON Schema of every file a user writes, from the definitions its loader validates with.

The configuration, the model card and the training recipe are pydantic models: their
schema is pydantic's own. Design items are built from the traceability field tables.
The release plan, the SOUP list, the anomaly register and the protocol are read by
hand-written loaders: their schemas are written here and a test holds them to the
loaders' key sets and validates the example device's files against them, so the two
cannot drift. Editors read them through `# yaml-language-server: $schema=...` lines.
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
        "version": {"type": ["string", "number"], "description": "the release's version"},
        "model": {"type": "string", "pattern": "^[^@]+@[^@]+$", "description": "the registered model, NAME@VERSION"},
        "protocols": {**names, "description": "ids of the locked validation protocols"},
        "signatures": {"type": "object", "additionalProperties": False,
                       "properties": {r: names for r in ("author", "reviewer", "approver")},
                       "description": "role -> user ids who may sign in it"},
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
    entry = {"type": "object", "additionalProperties": False, "required": ["id", "title", "severity", "status"],
             "properties": {"id": {"type": "string", "pattern": "^[A-Za-z]+-[0-9]+$"}, "title": _text("what goes wrong"),
                            "severity": {"enum": ["minor", "major", "critical"]},
                            "status": {"enum": ["open", "resolved"]},
                            "evaluation": {"type": "string", "description": "its contribution to hazards (§5.8.3)"},
                            "found_in": {"type": ["string", "number"]}, "fixed_in": {"type": ["string", "number"]}}}
    return {"type": "object", "required": ["anomalies"],
            "properties": {"anomalies": {"type": "array", "items": entry}}}


PROTOCOL_SECTIONS = ("id", "version", "title", "intended_use", "model", "dataset", "training_manifests", "labels", "seed",
                     "ci", "endpoints", "subgroups", "bias", "multiplicity", "notes", "independence", "sample_size",
                     "reference_standard", "time_to_notification", "interpretation", "post_market", "data",
                     "robustness", "repeatability", "limitations")


def _protocol() -> Schema:
    required = ["id", "version", "model", "dataset", "labels", "endpoints"]
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": {k: {"description": f"the protocol's {k.replace('_', ' ')} (see docs/reference/protocol.md)"}
                           for k in PROTOCOL_SECTIONS},
            "description": "a validation protocol; its sections are checked in depth by `qms protocol lock`"}


KINDS: dict[str, tuple[str, Callable[[], Schema]]] = {
    "config": ("[tool.qms] in pyproject.toml, or qms.toml", _config),
    "design-item": ("a design item (design/*.yaml)", _design_item),
    "release-plan": ("release-plan.yaml", _release_plan),
    "soup": ("the SOUP list (soup.yaml)", _soup),
    "anomalies": ("the anomaly register (design/anomalies.yaml)", _anomalies),
    "protocol": ("a validation protocol (protocols/*.yaml)", _protocol),
    "model-card": ("a model card (model_card.yaml)", _model_card),
    "training-recipe": ("a training recipe (train.yaml)", _training_recipe),
}
"""Each kind: the file it describes, and how its schema is made."""


def schema(kind: str) -> Schema:
    """The JSON Schema of `kind` (a key of KINDS), with its title and dialect."""
    what, make = KINDS[kind]
    return {"$schema": _DRAFT, "$id": f"qmskit:{kind}", "title": f"qmskit {kind}: {what}", **make()}
