"""Which profile options apply, from `[tool.qms.deid]` and the command line; safe by default.

Defaults follow what research keeps and HIPAA Safe Harbor allows: dates shifted per patient
(not kept), patient characteristics with the age capped, descriptors, structured content
and graphics cleaned, only known-safe private elements kept, pixels cleaned; UIDs, device
and institution identity are not retained.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qms.deid.keying import DateShiftRange
from qms.deid.pixels import OcrMode, PixelOptions
from qms.deid.private import SafePrivateList
from qms.deid.profile import ProfileOption
from qms.errors import ConfigError, QmsError

__all__ = ["DEFAULT_OPTIONS", "DeidOptions", "OutputNames", "pixel_options"]

DEFAULT_OPTIONS = frozenset({
    ProfileOption.RETAIN_LONG_MODIFIED_DATES, ProfileOption.RETAIN_PATIENT_CHARACTERISTICS,
    ProfileOption.CLEAN_DESCRIPTORS, ProfileOption.CLEAN_STRUCTURED_CONTENT, ProfileOption.CLEAN_GRAPHICS,
    ProfileOption.RETAIN_SAFE_PRIVATE, ProfileOption.CLEAN_PIXEL_DATA,
})
_WHERE = "[tool.qms.deid]"
_KEYS = ("options", "date_shift_days", "output_names", "safe_private", "pixels")


class OutputNames(enum.Enum):
    """How output files are named: mirroring the input tree (each part that holds PHI replaced by its keyed
    pseudonym: `qms.deid.names`), or by the new SOPInstanceUID."""

    MIRROR = "mirror"
    SOP_INSTANCE_UID = "sop-instance-uid"


@dataclass(frozen=True)
class DeidOptions:
    """Everything that decides what a de-identified file looks like (recorded in the manifest)."""

    options: frozenset[ProfileOption] = DEFAULT_OPTIONS
    date_shift: DateShiftRange = DateShiftRange()
    output_names: OutputNames = OutputNames.MIRROR
    safe_private: SafePrivateList = field(default_factory=SafePrivateList)

    def __post_init__(self) -> None:
        if {ProfileOption.RETAIN_LONG_FULL_DATES, ProfileOption.RETAIN_LONG_MODIFIED_DATES} <= self.options:
            raise ConfigError("retain_long_full_dates and retain_long_modified_dates exclude each other",
                              where=_WHERE, hint="PS3.15 §E.3.6: choose one of the two")

    def has(self, option: ProfileOption) -> bool:
        return option in self.options

    @classmethod
    def from_config(cls, config: Mapping[str, Any], cli_options: Iterable[str] = ()) -> DeidOptions:
        """Parse `[tool.qms.deid]`, then apply `--option NAME` / `--option no-NAME` on top."""
        unknown = sorted(set(config) - set(_KEYS))
        if unknown:
            raise ConfigError(f"unknown key {_WHERE[1:-1]}.{unknown[0]}", where=_WHERE,
                              hint=f"allowed keys: {', '.join(_KEYS)}")
        enabled = set(_parse_option_list(config.get("options", [o.config_name for o in DEFAULT_OPTIONS])))
        for item in cli_options:
            negate = item.startswith("no-") or item.startswith("no_")
            option = _option(item[3:] if negate else item, "--option")
            (enabled.discard if negate else enabled.add)(option)
        return cls(
            options=frozenset(enabled),
            date_shift=_parse_shift(config.get("date_shift_days", [-3650, -30])),
            output_names=_parse_names(config.get("output_names", OutputNames.MIRROR.value)),
            safe_private=SafePrivateList.from_config(config.get("safe_private", {}), _WHERE),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "options": sorted(o.config_name for o in self.options),
            "date_shift_days": [self.date_shift.min_days, self.date_shift.max_days],
            "output_names": self.output_names.value,
            "safe_private": self.safe_private.to_json(),
        }


def _option(name: str, where: str) -> ProfileOption:
    try:
        return ProfileOption.from_name(name)
    except KeyError:
        allowed = ", ".join(o.config_name for o in ProfileOption)
        raise ConfigError(f"unknown de-identification option {name!r}", where=where,
                          hint=f"allowed: {allowed} (prefix no- to turn one off)") from None


def _parse_option_list(value: Any) -> list[ProfileOption]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{_WHERE[1:-1]}.options must be a list of option names, got {value!r}", where=_WHERE)
    return [_option(v, f"{_WHERE} options") for v in value]


def _parse_shift(value: Any) -> DateShiftRange:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{_WHERE[1:-1]}.date_shift_days must be [min, max] in days, got {value!r}",
                          where=_WHERE, hint="e.g. date_shift_days = [-3650, -30]")
    try:
        return DateShiftRange(value[0], value[1])
    except QmsError as exc:
        raise ConfigError(exc.message, where=f"{_WHERE} date_shift_days", hint=exc.hint) from exc


def _parse_names(value: Any) -> OutputNames:
    try:
        return OutputNames(value)
    except ValueError:
        allowed = ", ".join(n.value for n in OutputNames)
        raise ConfigError(f"{_WHERE[1:-1]}.output_names: {value!r} is not allowed", where=_WHERE,
                          hint=f"allowed: {allowed}") from None


def pixel_options(config: Mapping[str, Any], *, ocr: str | None = None) -> PixelOptions:
    """`[tool.qms.deid.pixels]`: the keyword arguments of `PixelOptions` (ocr as its mode name); `ocr` overrides its mode."""
    table = config.get("pixels", {})
    where = f"{_WHERE[:-1]}.pixels]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where[1:-1]} must be a table, got {table!r}", where=where)
    kwargs = dict(table) if ocr is None else {**table, "ocr": ocr}
    try:
        if "ocr" in kwargs:
            kwargs["ocr"] = OcrMode(kwargs["ocr"])
        if "ocr_modalities" in kwargs:
            kwargs["ocr_modalities"] = frozenset(str(m).upper() for m in kwargs["ocr_modalities"])
        return PixelOptions(**kwargs)
    except (TypeError, ValueError) as exc:
        allowed = ", ".join(PixelOptions.__dataclass_fields__)
        raise ConfigError(f"{where[1:-1]}: {exc}", where=where, hint=f"allowed keys: {allowed}; "
                          f"ocr: {', '.join(m.value for m in OcrMode)}") from exc
