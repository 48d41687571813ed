"""A CycloneDX SBOM of the SOUP list, with FDA's per-component fields as properties."""

from __future__ import annotations

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from qms.soup.listing import SoupList

__all__ = ["to_cyclonedx"]

_FDA_FIELDS = ("level_of_support", "end_of_support", "known_vulnerabilities")


def to_cyclonedx(soup: SoupList, device: str, version: str) -> str:
    """CycloneDX 1.6 JSON; bom-refs are purls, so the same environment gives the same components."""
    bom = Bom()
    root = Component(name=device, version=version, type=ComponentType.APPLICATION, bom_ref=f"device:{device}@{version}")
    bom.metadata.component = root
    licences = LicenseFactory()
    direct = []
    for item in soup.items:
        d, data = item.distribution, item.to_json()
        props = [Property(name=f"fda:{k}", value=str(data[k])) for k in _FDA_FIELDS]
        props += [Property(name="qms:direct", value=str(item.direct).lower()), Property(name="qms:origin", value=d.origin)]
        component = Component(
            name=d.name, version=d.version, type=ComponentType.LIBRARY, bom_ref=d.purl,
            purl=PackageURL("pypi", None, d.name, d.version),
            supplier=OrganizationalEntity(name=d.supplier),
            licenses=[licences.make_from_string(d.licence)] if d.licence != "not declared" else [],
            properties=props)
        bom.components.add(component)
        if item.direct:
            direct.append(component)
    for n in soup.native:
        bom.components.add(Component(
            name=n.package, version=n.version, type=ComponentType.LIBRARY, bom_ref=n.purl,
            purl=PackageURL("deb", "debian", n.package, n.version), supplier=OrganizationalEntity(name=n.maintainer),
            properties=[Property(name="qms:loaded_library", value=lib) for lib in n.libraries]))
    bom.register_dependency(root, direct)
    return JsonV1Dot6(bom).output_as_string(indent=2)
