"""Write docs/reference/ from qms.reference (run after changing a loader, a schema or an environment variable)."""

from __future__ import annotations

from pathlib import Path

from qms.reference import pages

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "reference"

if __name__ == "__main__":
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (FOLDER / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages())} files to {FOLDER}")
