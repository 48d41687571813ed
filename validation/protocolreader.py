"""Reading a protocol's YAML: typed values at a path, each error naming file:line.

`ProtocolReader` is the parser API the protocol's sections share: the top-level parser
(`qms.validation.protocolparser`) and each section module's `parse(reader, ...)` read
through it, so a section module needs neither the parser nor the `Protocol` it builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from qms.errors import QmsError
from qms.validation.intervals import CIMethod
from qms.validation.metrics import ALLOWED_CI, CISpec, Metric
from qms.yamlfile import Located, PathKey

__all__ = ["ProtocolReader"]

T = TypeVar("T")


class ProtocolReader:
    """A located protocol document and the typed reads of its values."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc

    def fail(self, path: PathKey, message: str, hint: str | None = None) -> QmsError:
        return QmsError(message, where=self.doc.where(path), hint=hint)

    def get(self, path: PathKey, kind: type[T] | tuple[type, ...], *, required: bool = True, default: Any = None) -> Any:
        node: Any = self.doc.data
        for part in path:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                if required:
                    raise self.fail(path[:-1], f"missing required key {'.'.join(map(str, path))}")
                return default
        if node is None and not required:
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(node, bool) and bool not in kinds and object not in kinds or not isinstance(node, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(path, f"{'.'.join(map(str, path))} must be {names}, not {node!r}")
        return node

    def keys(self, path: PathKey, allowed: set[str]) -> None:
        mapping = self.get(path, dict)
        for key in mapping:
            if key not in allowed:
                raise self.fail((*path, key), f"unknown key {key!r}", hint=f"allowed: {', '.join(sorted(allowed))}")

    def enum(self, path: PathKey, kind: Callable[[str], T], allowed: str) -> T:
        raw = self.get(path, str)
        try:
            return kind(raw)
        except ValueError:
            raise self.fail(path, f"unknown value {raw!r}", hint=f"allowed: {allowed}") from None

    def probability(self, path: PathKey, *, open_interval: bool = False) -> float:
        x = float(self.get(path, (int, float)))
        if not (0 < x < 1 if open_interval else 0 <= x <= 1):
            raise self.fail(path, f"{'.'.join(map(str, path))} = {x} is out of range",
                            hint="between 0 and 1" + (" (exclusive)" if open_interval else ""))
        return x

    def has(self, path: PathKey) -> bool:
        return self.get(path, object, required=False) is not None

    def text(self, path: PathKey) -> str:
        """A required statement: a string that is not blank."""
        value = str(self.get(path, str)).strip()
        if not value:
            raise self.fail(path, f"{'.'.join(map(str, path))} is empty", hint="state it in the protocol")
        return value

    def strings(self, path: PathKey) -> tuple[str, ...]:
        """A required list of strings; an item that is not one is named by its index."""
        return tuple(self.get((*path, i), str) for i in range(len(self.get(path, list))))

    def texts(self, path: PathKey, *, required: bool = True, empty: bool = False) -> tuple[str, ...]:
        """A list of statements, none blank; `empty` allows a list with none, `required=False` a missing one."""
        items = self.get(path, list, required=required, default=[])
        if not items and not empty:
            raise self.fail(path, f"{'.'.join(map(str, path))} needs at least one statement")
        out = []
        for i, _ in enumerate(items):
            text = str(self.get((*path, i), str)).strip()
            if not text:
                raise self.fail((*path, i), f"{'.'.join(map(str, path))}[{i}] is empty")
            out.append(text)
        return tuple(out)

    def ci(self, path: PathKey, default: CISpec) -> CISpec:
        """An interval spec; keys left out take the protocol-wide default."""
        if not self.has(path):
            return default
        self.keys(path, {"method", "level", "resamples", "seed"})
        method = self.enum((*path, "method"), CIMethod, ", ".join(m.value for m in CIMethod)) \
            if self.has((*path, "method")) else default.method
        level = self.probability((*path, "level"), open_interval=True) if self.has((*path, "level")) else default.level
        resamples = int(self.get((*path, "resamples"), int, required=False, default=default.resamples))
        if not 100 <= resamples <= 1_000_000:
            raise self.fail((*path, "resamples"), f"resamples = {resamples} is out of range", hint="100 to 1,000,000")
        seed = int(self.get((*path, "seed"), int, required=False, default=default.seed))
        return CISpec(method, level, resamples, seed)

    def metric_ci(self, path: PathKey, metric: Metric, ci: CISpec) -> None:
        if ci.method not in ALLOWED_CI[metric]:
            raise self.fail(path, f"{ci.method.value} is not an interval for {metric.value}",
                            hint=f"for {metric.value}: {', '.join(sorted(m.value for m in ALLOWED_CI[metric]))}")
