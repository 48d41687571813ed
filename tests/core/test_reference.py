"""The JSON Schemas match what the loaders accept, the example's files validate, and docs/reference is current."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from qms import release_plan
from qms.anomalies import AnomalyStatus
from qms.cli.main import make_app
from qms.reference import pages
from qms.schemas import KINDS, schema
from qms.signing.errors import SigningError
from qms.signing.roster import ROSTER_KEYS, Roster
from qms.soup import register
from qms.validation import protocolparser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cxr-triage"


def test_the_committed_reference_is_what_the_generator_makes_now() -> None:
    """docs/reference holds exactly the generated pages; after a loader change, run scripts/gen_reference.py."""
    folder = ROOT / "docs" / "reference"
    expected = pages()
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
    stale = [name for name, text in expected.items() if (folder / name).read_text(encoding="utf-8") != text]
    assert stale == [], "run `python scripts/gen_reference.py`"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_schema_is_valid_json_schema_and_printed_by_qms_schema(kind: str) -> None:
    """Each kind's schema is a valid JSON Schema (2020-12), and `qms schema KIND` prints it."""
    jsonschema.Draft202012Validator.check_schema(schema(kind))
    out = CliRunner().invoke(make_app(["schema"]), ["schema", kind]).output
    assert json.loads(out) == schema(kind)


def test_qms_schema_help_names_every_kind() -> None:
    """`qms schema --help` lists every kind the command prints (signing-roster was left out)."""
    out = CliRunner().invoke(make_app(["schema"]), ["schema", "--help"]).output
    joined = re.sub(r"-\s+", "-", " ".join(out.split()))  # help text wraps at a hyphen
    assert all(kind in joined for kind in KINDS), out


def test_hand_written_schemas_name_exactly_the_keys_their_loaders_accept() -> None:
    """The release plan, SOUP list, protocol and signing roster schemas allow exactly the keys their loaders allow."""
    assert set(schema("release-plan")["properties"]) == release_plan._KEYS
    assert set(schema("signing-roster")["properties"]) == set(ROSTER_KEYS)
    assert set(schema("soup")["properties"]["soup"]["items"]["properties"]) == set(register._REQUIRED)
    assert set(schema("protocol")["properties"]) == protocolparser._TOP


def _documents(path: Path) -> list[object]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def test_the_example_devices_files_validate_against_their_schemas() -> None:
    """Every file of examples/cxr-triage a user writes is valid under its kind's schema."""
    files = {"config": [tomllib.loads((EXAMPLE / "qms.toml").read_text(encoding="utf-8"))["tool"]["qms"]],
             "release-plan": _documents(EXAMPLE / "release-plan.yaml"), "soup": _documents(EXAMPLE / "soup.yaml"),
             "anomalies": _documents(EXAMPLE / "design" / "anomalies.yaml"),
             "protocol": [d for p in sorted((EXAMPLE / "protocols").glob("*.yaml")) for d in _documents(p)],
             "design-item": [d for p in sorted((EXAMPLE / "design").glob("*.yaml")) if p.name != "anomalies.yaml"
                             for d in _documents(p)],
             "training-recipe": _documents(EXAMPLE / "model" / "train.yaml")}
    for kind, documents in files.items():
        assert documents, kind
        for document in documents:
            jsonschema.validate(document, schema(kind))


def test_a_design_item_with_a_field_of_another_type_is_invalid() -> None:
    """The design item schema refuses a control_type on a requirement and a severity above 5."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "REQ-1", "type": "requirement", "title": "t", "text": "t", "parents": ["N-1"],
                             "control_type": "inherent_safety"}, schema("design-item"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "HAZ-1", "type": "hazard", "severity": 9}, schema("design-item"))


def test_the_anomaly_schema_allows_every_status_the_register_accepts() -> None:
    """The anomaly register's schema allows exactly the statuses the loader accepts (open, deferred, resolved)."""
    status = schema("anomalies")["properties"]["anomalies"]["items"]["properties"]["status"]
    assert status["enum"] == [s.value for s in AnomalyStatus] == ["open", "deferred", "resolved"]
    assert "deferred" in (ROOT / "docs" / "reference" / "anomalies.md").read_text(encoding="utf-8")


def test_the_release_plan_schema_requires_every_signing_role_as_the_loader_does() -> None:
    """A plan leaving out a signing role, or naming nobody in it, is invalid under the schema (the loader refuses it)."""
    roles = {"author": ["a"], "reviewer": ["b"], "approver": ["c"]}
    jsonschema.validate({"version": "1.0.0", "model": "m@1", "signatures": roles}, schema("release-plan"))
    for role in roles:
        for signatures in ({**roles, role: []}, {r: v for r, v in roles.items() if r != role}):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate({"version": "1.0.0", "model": "m@1", "signatures": signatures},
                                    schema("release-plan"))
    assert "device project" in schema("release-plan")["properties"]["model"]["description"]


_ROSTERS = [  # (identities, whether the roster loader accepts it)
    ({"ada": {"kind": "person", "roles": ["author", "quality"]}, "ci.release": {"kind": "service", "roles": ["seal"]}},
     True),
    ({"ada": {"kind": "person", "roles": ["author"], "documents": ["validation-*"]}}, True),
    ({"ci.release": {"kind": "service", "roles": ["reviewer"]}}, False),
    ({"ada": {"kind": "persn", "roles": ["author"]}}, False),
    ({"ada": {"kind": "person", "roles": ["writer"]}}, False),
    ({"ada": {"kind": "person", "roles": []}}, False),
    ({"ada": {"kind": "person", "roles": ["author"], "role": ["author"]}}, False),
    ({"ada": {"kind": "person", "roles": ["author"], "documents": []}}, False),
    ({"Ada Lovelace": {"kind": "person", "roles": ["author"]}}, False),
    ({"ada": {"roles": ["author"]}}, False),
    ({}, False),
]


@pytest.mark.parametrize(("identities", "accepted"), _ROSTERS)
def test_the_signing_roster_schema_accepts_what_the_roster_loader_accepts(identities: dict[str, object],
                                                                          accepted: bool) -> None:
    """A signing roster is valid under `qms schema signing-roster` exactly when the roster loader accepts it."""
    document = {"identities": identities}
    valid = jsonschema.Draft202012Validator(schema("signing-roster")).is_valid(document)
    try:
        Roster.from_json(document, "roster")
        loaded = True
    except SigningError:
        loaded = False
    assert valid == loaded == accepted
    assert jsonschema.Draft202012Validator(schema("signing-roster")).is_valid(
        yaml.safe_load((EXAMPLE / "signing-roster.yaml").read_text(encoding="utf-8")))


@pytest.mark.parametrize("extra", [{"identites": {}}, {"approver": "ada"}, {"kind": "qms-signing-roster/v2"}])
def test_the_signing_roster_schema_and_loader_refuse_an_unknown_top_level_key(extra: dict[str, object]) -> None:
    """A roster with a top-level key other than `identities` and `kind` (or another format) is invalid and refused."""
    document = {"identities": {"ada": {"kind": "person", "roles": ["author"]}}, **extra}
    assert not jsonschema.Draft202012Validator(schema("signing-roster")).is_valid(document)
    with pytest.raises(SigningError):
        Roster.from_json(document, "roster")


@pytest.mark.parametrize(("networks", "valid"), [
    ({"cnn": {"width": 8, "blocks": 4}}, True),
    ({"cnn": {}, "vit": None}, True),
    ({"vit": None}, False),
    ({"vit": {"patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 64}}, True),
    ({}, False),
    ({"cnn": {}, "vit": {"patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                         "intermediate_size": 64}}, False),
])
def test_the_training_recipe_schema_asks_for_exactly_one_network_as_the_loader_does(
        networks: dict[str, object], valid: bool, tmp_path: Path) -> None:
    """An editor flags a recipe with no network or two, as `qms model train` refuses it."""
    from qms.models.errors import ModelError
    from qms.models.training import load_config

    from tests.models.helpers import card

    recipe = {"seed": 1, "card_template": "card.yaml", "epochs": 1, "batch_size": 4, "learning_rate": 0.01, **networks}
    assert jsonschema.Draft202012Validator(schema("training-recipe")).is_valid(recipe) is valid
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    architecture = ({"format": "torch", "torch_class": "qms.models.nets:SmallCnn2d"} if networks.get("cnn") is not None
                    else {"format": "transformers"})
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(card(architecture=architecture)), encoding="utf-8")
    if valid:
        assert load_config(tmp_path / "train.yaml")[1].architecture.format.value == architecture["format"]
    else:
        with pytest.raises(ModelError, match=": training config: give exactly one network"):
            load_config(tmp_path / "train.yaml")
