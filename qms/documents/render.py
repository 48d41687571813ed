"""Evidence documents: jinja2 (StrictUndefined) -> HTML -> weasyprint -> PDF/A-3b with data attached.

Fonts are pinned to DejaVu from Debian's fonts-dejavu-core, embedded by file path so every
machine renders the same glyphs; a missing font is an error, never a silent fallback. The
machine-readable data (trace, results, SOUP) travels inside the PDF as PDF/A-3 associated
files, so the human-readable and the electronic copy are one record (21 CFR 11.10(b)).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from qms.compute.local import side_by_side
from qms.documents.catalogue import DocumentKind
from qms.errors import ConfigError, QmsError

__all__ = ["Attachment", "DocumentHeader", "DocumentInput", "FONTS", "FONT_DIR", "FONT_PACKAGE", "Rendered", "Renderer", "SignatureCell",
           "render_all"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_PACKAGE = "fonts-dejavu-core"
FONTS = {"DejaVu Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), "DejaVu Sans Mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf")}


@dataclass(frozen=True)
class Attachment:
    """A machine-readable file embedded in the PDF (PDF/A-3 associated file)."""

    name: str
    data: bytes
    description: str
    mime: str = "application/json"


@dataclass(frozen=True)
class DocumentHeader:
    """What every page shows: device, version, document id and revision (ISO 13485 §4.2.4)."""

    device: str
    manufacturer: str
    release: str
    revision: int = 1
    signers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def document_id(self, kind: DocumentKind) -> str:
        return f"{kind.value.upper()}-{self.release}"


SignatureCell = tuple[int, tuple[float, float, float, float]]
"""A role's cell in the signatures table: its page (0-based) and rectangle (x0, y0, x1, y1) in PDF points."""

_PT_PER_PX = 0.75
"""PDF points per CSS pixel (72 / 96): weasyprint lays out in CSS pixels."""


@dataclass(frozen=True)
class Rendered:
    kind: DocumentKind
    document_id: str
    html: str
    pdf: bytes
    signature_cells: dict[str, SignatureCell] = field(default_factory=dict)
    """Each role's signature cell as laid out (role -> page, rectangle): where its stamp goes."""

    @property
    def stem(self) -> str:
        return self.kind.value


def _font_faces() -> str:
    rules = []
    for family, (regular, bold) in FONTS.items():
        for weight, name in (("normal", regular), ("bold", bold)):
            path = FONT_DIR / name
            if not path.is_file():
                raise ConfigError(f"the pinned font {name} is not installed", where=str(path),
                                  hint=f"install the Debian package {FONT_PACKAGE}")
            rules.append(f"@font-face {{ font-family: '{family}'; font-weight: {weight}; src: url('{path.as_uri()}'); }}")
    return "\n".join(rules)


def _signature_cells(document: Any) -> dict[str, SignatureCell]:
    """The cells marked `data-signature-role` in a laid-out weasyprint document, in PDF coordinates (origin bottom-left).

    Read from the layout itself, so each stamp lands in its own row's cell wherever the
    table falls on the page, never over another row.
    """
    from weasyprint.formatting_structure.boxes import TableCellBox

    cells: dict[str, SignatureCell] = {}
    for index, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            role = box.element.get("data-signature-role") if isinstance(box, TableCellBox) else None
            if role and role not in cells:
                x, top, width, height = box.border_box_x(), box.border_box_y(), box.border_width(), box.border_height()
                cells[role] = (index, (x * _PT_PER_PX, (page.height - top - height) * _PT_PER_PX,
                                       (x + width) * _PT_PER_PX, (page.height - top) * _PT_PER_PX))
    return cells


class Renderer:
    """Renders any DocumentKind with the one look: header, footer 'page x of y', signature block."""

    def __init__(self, header: DocumentHeader) -> None:
        self.header = header
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("qms.templates", ""), undefined=jinja2.StrictUndefined,
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.fonts = _font_faces()
        self._fonts_loaded: Any = None

    def _font_config(self) -> Any:
        """One font configuration for every document of this renderer: the same pinned faces are loaded once,
        not once per document (a release renders a dozen)."""
        if self._fonts_loaded is None:
            from weasyprint.text.fonts import FontConfiguration

            self._fonts_loaded = FontConfiguration()
        return self._fonts_loaded

    def prepare(self) -> None:
        """weasyprint imported and the fonts loaded now: before `render_all` forks its renderers, so that every
        child shares them instead of loading its own."""
        import weasyprint  # noqa: F401 - the import is the preparation

        self._font_config()

    def html(self, kind: DocumentKind, data: dict[str, Any], attachments: list[Attachment]) -> str:
        try:
            template = self.env.get_template(kind.template)
            return template.render(doc={"kind": kind.value, "title": kind.heading, "id": self.header.document_id(kind),
                                        "attachments": [a.name for a in attachments]},
                                   header=self.header, fonts=self.fonts, **data)
        except jinja2.UndefinedError as exc:
            raise QmsError(f"template {kind.template}: {exc.message}", where=kind.template,
                           hint="the document's data lacks a field the template uses") from exc

    def render(self, kind: DocumentKind, data: dict[str, Any], attachments: list[Attachment] | None = None,
               created: datetime | None = None) -> Rendered:
        import weasyprint

        attachments = attachments or []
        html = self.html(kind, data, attachments)
        when = created or datetime.now(UTC)
        files = [weasyprint.Attachment(file_obj=io.BytesIO(a.data), name=a.name, description=a.description, relationship="Data",
                                       created=when, modified=when) for a in attachments]
        options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "attachments": files, "custom_metadata": True,
                                   "pdf_identifier": self.header.document_id(kind).encode()}
        document = weasyprint.HTML(string=html, base_url=str(FONT_DIR)).render(font_config=self._font_config(),
                                                                              **options)
        pdf = document.write_pdf(**options)
        assert isinstance(pdf, bytes)
        return Rendered(kind, self.header.document_id(kind), html, pdf, _signature_cells(document))


_LONGEST = frozenset({DocumentKind.SOUP, DocumentKind.VALIDATION})
"""Rendered first: the SOUP list's tables grow with the installed environment (every distribution), the validation
report's with the protocol (figures, per-case tables); each takes several times another document (RESULTS.md)."""

DocumentInput = Callable[[DocumentKind], tuple[dict[str, Any], list[Attachment]]]
"""A document's data and attachments, built in the process that renders it."""


@dataclass(frozen=True)
class _RenderOne:
    renderer: Renderer
    inputs: DocumentInput

    def __call__(self, kind: DocumentKind) -> tuple[Rendered, list[Attachment]]:
        data, files = self.inputs(kind)
        return self.renderer.render(kind, data, files), files


def render_all(renderer: Renderer, kinds: list[DocumentKind], inputs: DocumentInput, *,
               workers: int = 1) -> list[tuple[Rendered, list[Attachment]]]:
    """Each kind's document and attachments, in order, rendered side by side by `workers` forked processes.

    weasyprint lays a document out in Python under the GIL: a release's dozen documents in one process take a
    dozen times one (benchmarks/RESULTS.md, issue 15). The children only render; the caller signs and records.
    """
    renderer.prepare()  # weasyprint and the fonts once, before the fork, not once per child
    return side_by_side(_RenderOne(renderer, inputs), kinds, workers, cost=lambda kind: float(kind in _LONGEST))
