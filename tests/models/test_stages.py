"""Stage changes are appended records; production is reached only on a signed release's evidence."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from qms import audit
from qms.models import registry
from qms.models.errors import PromotionRefused, TamperedModel
from qms.models.stages import ReleaseEvidence, Stage, change_stage, promote_to_production
from qms.store import Store
from tests.models.helpers import torch_folder

REF = "tiny@1.0"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return torch_folder(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def staged(store: Store, tmp_path: Path, template: Path) -> tuple[Store, Path, ReleaseEvidence]:
    folder = Path(shutil.copytree(template, tmp_path / "model"))
    view = registry.register(store, folder, name="tiny", version="1.0", actor="alice")
    change_stage(store, REF, Stage.STAGING, actor="alice", reason="release candidate")
    evidence = ReleaseEvidence(release_id="rel-1.0.0", model_ref=REF, model_digest=view.record.digest,
                               signed_manifest_sha256="c" * 64, signatures_verified=True)
    return store, folder, evidence


def test_signed_release_promotes_a_staged_version(staged: tuple[Store, Path, ReleaseEvidence]) -> None:
    """A staged version with complete, matching release evidence enters production, recorded and audited."""
    store, _, evidence = staged
    change = promote_to_production(store, REF, evidence, actor="release-gate")
    view = registry.show(store, REF)
    assert view.stage is Stage.PRODUCTION and change.release_id == "rel-1.0.0"
    assert [s.stage for s in view.history] == ["development", "staging", "production"]
    assert view.history[2].supersedes == view.history[1].id and view.history[1].supersedes == view.history[0].id
    events = audit.log(store, action="model.stage")
    assert [e.object for e in events] == [f"model:{REF}"] * 2
    assert audit.verify(store).intact


def test_production_is_refused_without_a_release(staged: tuple[Store, Path, ReleaseEvidence]) -> None:
    """Asking for production as an ordinary stage change is refused, naming the release route."""
    store, _, _ = staged
    with pytest.raises(PromotionRefused, match="only through a signed release"):
        change_stage(store, REF, Stage.PRODUCTION, actor="mallory", reason="ship it")
    assert registry.show(store, REF).stage is Stage.STAGING


@pytest.mark.parametrize("change, reason", [
    ({"release_id": " "}, "names no release"),
    ({"model_ref": "tiny@2.0"}, "is for tiny@2.0"),
    ({"model_digest": "0" * 64}, "signed model digest"),
    ({"signed_manifest_sha256": "not-a-hash"}, "signed manifest sha256"),
    ({"signatures_verified": False}, "signatures were not verified"),
])
def test_incomplete_or_mismatched_evidence_is_refused(
    staged: tuple[Store, Path, ReleaseEvidence], change: dict[str, object], reason: str,
) -> None:
    """Evidence for another version, digest or release, or unverified signatures, promotes nothing."""
    store, _, evidence = staged
    events = audit.head(store)[0]
    with pytest.raises(PromotionRefused, match=reason):
        promote_to_production(store, REF, replace(evidence, **change), actor="release-gate")
    assert registry.show(store, REF).stage is Stage.STAGING
    assert audit.head(store)[0] == events


def test_tampered_weights_are_never_promoted(staged: tuple[Store, Path, ReleaseEvidence]) -> None:
    """A release cannot promote a version whose files changed after registration: the file is named."""
    store, folder, evidence = staged
    (folder / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(TamperedModel) as err:
        promote_to_production(store, REF, evidence, actor="release-gate")
    assert err.value.where == str(folder / "model.safetensors")
    assert registry.show(store, REF).stage is Stage.STAGING


def test_development_cannot_skip_staging(sqlite_url: str, tmp_path: Path, template: Path) -> None:
    """A version in development is refused production even with valid evidence: it must be staged first."""
    from qms.store import open_store

    store = open_store(sqlite_url)
    view = registry.register(store, Path(shutil.copytree(template, tmp_path / "m")), name="tiny", version="1.0", actor="a")
    evidence = ReleaseEvidence("rel-1", REF, view.record.digest, "d" * 64, True)
    with pytest.raises(PromotionRefused, match="is in development; it cannot move to production"):
        promote_to_production(store, REF, evidence, actor="release-gate")
    with pytest.raises(PromotionRefused, match="cannot move to development"):
        change_stage(store, REF, Stage.DEVELOPMENT, actor="a", reason="again")
