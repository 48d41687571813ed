"""The quarantine folder: inputs that could not be de-identified, kept apart from OUT (issue 19).

A quarantined file is an input as it came, PHI and all, so it never lies inside the folder a
user shares: it goes to a folder of its own, `OUT.quarantine` beside OUT unless the user names
another, never inside OUT (nor OUT inside it) and never inside IN (which is only read). The
folder is created with the first quarantined file and holds a README saying that it contains
PHI. Each file keeps its path relative to IN, with `<name>.reason.txt` beside it. The manifest,
which lies in OUT, records the reason with every quoted value blanked (`shared_reason`): a
parser's message may quote bytes of the file (pydicom's BytesLengthException quotes the value).
"""

from __future__ import annotations

import re
from pathlib import Path

from qms import atomic
from qms.errors import QmsError

__all__ = ["README", "README_TEXT", "check_quarantine", "default_quarantine", "quarantine_file", "shared_reason",
           "write_readme"]

README = "README-CONTAINS-PHI.txt"
README_TEXT = """\
THIS FOLDER CONTAINS PROTECTED HEALTH INFORMATION (PHI).

Every file here is an input that qmskit could not de-identify, copied as it came, with
<file>.reason.txt beside it saying why. Do not share, upload or archive this folder with
de-identified data. Fix the cause (or leave the file out), then run the batch again: the
de-identified output folder never holds these files.
"""


_QUOTED = re.compile(r"""(?<![A-Za-z0-9])b?(['"])(?:(?!\1)[^\\]|\\.)*\1""")


def shared_reason(reason: str) -> str:
    """The reason as OUT's manifest records it: every quoted value (a str or bytes literal) blanked."""
    return _QUOTED.sub("<value>", reason)


def default_quarantine(out_dir: Path) -> Path:
    """`OUT.quarantine`, beside OUT (OUT as given, made absolute so that `.` has a name)."""
    out = out_dir.absolute()
    return out.with_name(out.name + ".quarantine")


def check_quarantine(quarantine: Path, out_dir: Path, in_dir: Path | None) -> None:
    """Refuse a quarantine folder that overlaps OUT (either inside the other) or lies inside IN (None: IN is
    behind a storage URL, not on this machine)."""
    q, out = quarantine.resolve(), out_dir.resolve()
    if q == out or out in q.parents or q in out.parents:
        raise QmsError("the quarantine folder must be neither the output folder nor inside it (nor contain it)",
                       where=str(quarantine),
                       hint="quarantined files keep their PHI: choose a folder beside OUT (the default is "
                            f"{default_quarantine(out_dir).name})")
    src = None if in_dir is None else in_dir.resolve()
    if src is not None and (q == src or src in q.parents):
        raise QmsError("the quarantine folder must not be the input folder nor inside it", where=str(quarantine),
                       hint="the input is only read; choose a folder outside it")


def write_readme(quarantine: Path) -> None:
    """The README saying the folder holds PHI, written once (before the first file goes in)."""
    readme = quarantine / README
    if not readme.is_file():
        atomic.write_text(readme, README_TEXT)


def quarantine_file(quarantine: Path, rel: str, data: bytes, reason: str) -> None:
    """Copy one input (`rel`, relative to IN) into the quarantine folder with its reason; README first."""
    write_readme(quarantine)
    target = quarantine / rel
    # Raw PHI: owner-only whatever the umask (the reason may quote values too).
    atomic.write_bytes(target, data, private=True)
    atomic.write_bytes(target.with_name(target.name + ".reason.txt"), (reason + "\n").encode("utf-8"), private=True)
