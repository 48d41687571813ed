"""The declared roles of a document: one empty signature field per role, before anyone signs.

Each field carries a seed value dictionary fixing its meaning (/Reasons) and its allowed
signers (/Cert /Subject), and a field lock: once a role is signed, only the later roles'
fields may change.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from qms.signing import stamp
from qms.signing.errors import SigningError
from qms.signing.identity import identity
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.pdf.document import asn1, page_width, writer
from qms.store import Store

__all__ = ["DeclaredField", "RoleSpec", "declared_fields", "prepare_signature_fields"]


@dataclass(frozen=True)
class RoleSpec:
    """A role to be signed: its field name, the meaning it signs with, who may sign it."""

    field: str
    meaning: Meaning
    signers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.field or "." in self.field or len(self.field) > 64:
            raise SigningError(f"invalid signature field name {self.field!r}", hint="1-64 characters, no '.'")
        if not self.signers:
            raise SigningError(f"role {self.field} names no allowed signer")

    @classmethod
    def of(cls, field: str, meaning: Meaning | SignatureMeaning | str, signers: Sequence[str]) -> RoleSpec:
        return cls(field, Meaning.of(meaning), tuple(signers))


Cell = tuple[int, tuple[float, float, float, float]]
"""A role's cell in the document's signatures table: page (0-based), rectangle (x0, y0, x1, y1) in PDF points."""


def _inside(cell: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The whole points one point inside a cell's border, so the stamp covers its cell and never the rows beside it."""
    x0, y0, x1, y1 = cell
    return math.ceil(x0) + 1, math.ceil(y0) + 1, math.floor(x1) - 1, math.floor(y1) - 1


def prepare_signature_fields(store: Store, identity_dir: Path, pdf: bytes, roles: Sequence[RoleSpec], *,
                             where: str = "document", cells: Mapping[str, Cell] | None = None) -> bytes:
    """Declare the roles before anyone signs: one empty field per role, in signing order.

    A role with a cell in `cells` (the rendered signatures table, `Rendered.signature_cells`)
    gets its field in that cell; any other role a block in rows from the last page's bottom.
    """
    if not roles:
        raise SigningError("a document needs at least one role to sign", where=where)
    names = [r.field for r in roles]
    if len(set(names)) != len(names):
        raise SigningError(f"role fields must be unique: {names}", where=where)
    out = writer(pdf, where)
    if any(True for _ in fields.enumerate_sig_fields(out)):
        raise SigningError("the document already has signature fields", where=where)
    width = page_width(out)
    for index, role in enumerate(roles):
        certs = [asn1(identity(store, identity_dir, uid).certificate) for uid in role.signers]
        seed = fields.SigSeedValueSpec(
            flags=fields.SigSeedValFlags.REASONS | fields.SigSeedValFlags.SUBFILTER,
            reasons=[role.meaning.text], subfilters=[fields.SigSeedSubFilter.PADES],
            cert=fields.SigCertConstraints(flags=fields.SigCertConstraintFlags.SUBJECT, subjects=certs),
        )
        later = names[index + 1:]
        lock = (fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=later) if later
                else fields.FieldMDPSpec(fields.FieldMDPAction.ALL))
        page, box = (cells[role.field][0], _inside(cells[role.field][1])) if cells and role.field in cells \
            else (-1, stamp.block_box(index, width))
        fields.append_signature_field(out, fields.SigFieldSpec(
            role.field, on_page=page, box=box, seed_value_dict=seed, field_mdp_spec=lock,
            readable_field_name=f"{role.field}: {role.meaning.text} ({', '.join(role.signers)})",
        ))
    buffer = io.BytesIO()
    out.write(buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


@dataclass(frozen=True)
class DeclaredField:
    """A signature field as found in a document: a declared role has the reasons its seed value names."""

    name: str
    signed: bool
    reasons: tuple[str, ...]
    subjects: tuple[str, ...]


def declared_fields(pdf: PdfFileReader) -> list[DeclaredField]:
    """Every signature field; a declared role is one with a seed value naming its meaning."""
    found: list[DeclaredField] = []
    for name, value, ref in fields.enumerate_sig_fields(pdf):
        obj = ref.get_object()
        sv_obj = obj.get("/SV")
        spec = None if sv_obj is None else fields.SigSeedValueSpec.from_pdf_object(sv_obj.get_object())  # type: ignore[no-untyped-call]
        subjects = tuple(c.sha256.hex() for c in (spec.cert.subjects or [])) if spec and spec.cert else ()
        found.append(DeclaredField(str(name), value is not None, tuple(spec.reasons or ()) if spec else (), subjects))
    return found
