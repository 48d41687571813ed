"""The SOUP list (IEC 62304 §5.3.3, §7.1.2, §8.1.2) and its CycloneDX SBOM."""

from __future__ import annotations

from pathlib import Path

from qms.soup.inventory import Distribution, installed, normalise
from qms.soup.listing import Change, SoupItem, SoupList, build
from qms.soup.native import NativePackage, native_packages
from qms.soup.register import SoupEntry, load_soup_file

__all__ = ["Change", "Distribution", "NativePackage", "SoupEntry", "SoupItem", "SoupList", "collect", "load_soup_file",
           "normalise", "to_cyclonedx"]


def collect(soup_file: Path, previous: tuple[str, dict[str, str]] | None = None, *, native: bool = True,
            distributions: list[Distribution] | None = None) -> SoupList:
    """The SOUP list of this environment: `previous` is (release, name -> version) to flag changes against.

    `native=False` leaves out the native libraries (the gate's check does not need them, and
    loading the rendering stack to map them costs about a second). `distributions` is
    `installed()` when the caller already read it (reading every package's metadata costs a
    few hundred milliseconds).
    """
    found = installed() if distributions is None else distributions
    if not native:
        return build(found, load_soup_file(soup_file), [], previous)
    import weasyprint  # noqa: F401 - load the rendering stack so its native libraries are mapped and listed

    return build(found, load_soup_file(soup_file), native_packages(), previous)


def to_cyclonedx(soup: SoupList, device: str, version: str) -> str:
    """CycloneDX 1.6 JSON of the list (cyclonedx-python-lib is imported only when an SBOM is made)."""
    from qms.soup.sbom import to_cyclonedx as render

    return render(soup, device, version)
