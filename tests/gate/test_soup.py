"""The SOUP list: every installed distribution, reviews joined from the soup file, native libraries, a CycloneDX SBOM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import ConfigError
from qms.soup import collect, installed, load_soup_file, normalise, to_cyclonedx
from qms.soup.listing import diff

EXAMPLE_SOUP = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage" / "soup.yaml"


@pytest.fixture(scope="module")
def soup():  # type: ignore[no-untyped-def]
    return collect(EXAMPLE_SOUP, previous=("0.9.0", {"pydicom": "2.4.4", "gone-package": "1.0"}))


def test_every_installed_distribution_is_listed(soup) -> None:  # type: ignore[no-untyped-def]
    """The list names every installed distribution with a version, licence, supplier and origin (§8.1.2)."""
    names = {i.distribution.name for i in soup.items}
    assert names == {d.name for d in installed()}
    assert {"pydicom", "torch", "weasyprint", "numpy"} <= names
    assert all(i.distribution.version and i.distribution.licence and i.distribution.origin for i in soup.items)


def test_direct_dependencies_carry_their_review(soup) -> None:  # type: ignore[no-untyped-def]
    """Direct dependencies show purpose, requirements, anomaly review and FDA's support fields from the soup file."""
    pydicom = next(i for i in soup.items if i.distribution.name == "pydicom").to_json()
    assert pydicom["direct"] and "DICOM" in pydicom["purpose"]
    assert pydicom["level_of_support"] and pydicom["end_of_support"] and pydicom["known_vulnerabilities"]
    numpy_ = next(i for i in soup.items if i.distribution.name == "jinja2").to_json()
    assert not numpy_["direct"] and numpy_["known_vulnerabilities"].startswith("not reviewed")


def test_native_libraries_map_to_debian_packages(soup) -> None:  # type: ignore[no-untyped-def]
    """The rendering stack's native libraries (Pango, HarfBuzz) are listed with their Debian packages and versions."""
    packages = {n.package: n for n in soup.native}
    assert any(p.startswith("libpango") for p in packages) and any(p.startswith("libharfbuzz") for p in packages)
    assert all(n.version != "unknown" for n in soup.native)


def test_changes_since_the_last_release_are_flagged(soup) -> None:  # type: ignore[no-untyped-def]
    """Against the previous release's versions, changed, added and removed components are flagged."""
    kinds = {c.name: c.kind for c in soup.changes}
    assert kinds["pydicom"] == "changed" and kinds["gone-package"] == "removed" and kinds["torch"] == "added"


def test_cyclonedx_sbom_has_fda_fields(soup) -> None:  # type: ignore[no-untyped-def]
    """The SBOM is CycloneDX 1.6 JSON with a purl, supplier and FDA support fields per component."""
    bom = json.loads(to_cyclonedx(soup, "Synthetic Triage", "1.0.0"))
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    comps = {c["name"]: c for c in bom["components"]}
    props = {p["name"]: p["value"] for p in comps["pydicom"]["properties"]}
    assert {"fda:level_of_support", "fda:end_of_support", "fda:known_vulnerabilities"} <= set(props)
    assert comps["pydicom"]["purl"].startswith("pkg:pypi/pydicom@")
    assert any(c["purl"].startswith("pkg:deb/debian/libpango") for c in bom["components"])


def test_soup_entry_missing_a_field_names_file_and_line(tmp_path: Path) -> None:
    """An entry without its anomaly review is an error naming file:line and the missing field."""
    path = tmp_path / "soup.yaml"
    path.write_text("soup:\n  - name: numpy\n    version: '1'\n    purpose: p\n    requirements: r\n"
                    "    level_of_support: s\n    end_of_support: e\n    known_vulnerabilities: k\n")
    with pytest.raises(ConfigError) as exc:
        load_soup_file(path)
    assert exc.value.where == f"{path}:2" and "anomaly_review" in exc.value.message


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["1", "2", "3"])),
       st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["1", "2", "3"])))
def test_diff_names_exactly_the_changes(before: dict[str, str], after: dict[str, str]) -> None:
    """diff() lists a name exactly when its version differs (a missing side is None), each once."""
    changes = diff(before, after)
    assert {c.name for c in changes} == {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    assert all((c.before, c.after) == (before.get(c.name), after.get(c.name)) for c in changes)


@settings(max_examples=30, deadline=None)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]*([-_.][A-Za-z0-9]+)*", fullmatch=True))
def test_normalise_is_idempotent_and_separator_blind(name: str) -> None:
    """PEP 503 normalisation: idempotent, lower case, and blind to -, _ and . separators."""
    n = normalise(name)
    assert normalise(n) == n == n.lower() and normalise(name.replace("-", "_")) == n
