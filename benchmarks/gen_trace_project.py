"""Generate a synthetic device project for the traceability benchmark, and the same tree for doorstop.

`generate(root, items, tests)` writes a qms.toml, one YAML file per design item (needs,
requirements, architecture items, hazards, risk controls; every link reviewed), commits
it in a fresh git repository, and returns the TestRun that verifies it: `tests` passing
tests, each linked to one or two requirements or risk controls. `generate_doorstop` writes
the same items as a doorstop tree (NEED <- REQ <- ARCH, NEED <- HAZ <- RC). Seeded, so
every run builds the same project. All text is made up.
"""

from __future__ import annotations

import argparse
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qms.traceability import Item, ItemType, Link, Outcome, TestResult, TestRun
from qms.traceability.items import fingerprint

SHARES = {ItemType.NEED: 0.04, ItemType.HAZARD: 0.04, ItemType.RISK_CONTROL: 0.08, ItemType.ARCHITECTURE: 0.20}
PREFIX = {ItemType.NEED: "NEED", ItemType.REQUIREMENT: "REQ", ItemType.ARCHITECTURE: "ARCH",
          ItemType.HAZARD: "HAZ", ItemType.RISK_CONTROL: "RC"}
WORDS = "the software shall flag accept reject image study series patient worklist dicom pixel window model score".split()
HAZARD_ATTRIBUTES = {"hazardous_situation": "A patient waits.", "harm": "Delayed care.", "severity": 3,
                     "probability": 3, "residual_severity": 3, "residual_probability": 1}


@dataclass(frozen=True)
class Graph:
    items: list[Item]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))).capitalize() + "."


def build_graph(n: int, seed: int = 1) -> Graph:
    rng = random.Random(seed)
    counts = {t: max(1, int(n * s)) for t, s in SHARES.items()}
    counts[ItemType.REQUIREMENT] = n - sum(counts.values())
    ids = {t: [f"{PREFIX[t]}-{i:05d}" for i in range(1, c + 1)] for t, c in counts.items()}
    hazard_turn = iter(range(n))  # round robin: every hazard gets a risk control
    parents_of: dict[ItemType, Callable[[], list[str]]] = {
        ItemType.NEED: lambda: [],
        ItemType.HAZARD: lambda: [],
        ItemType.RISK_CONTROL: lambda: [ids[ItemType.HAZARD][next(hazard_turn) % counts[ItemType.HAZARD]]],
        ItemType.REQUIREMENT: lambda: rng.sample(ids[ItemType.NEED], rng.randint(1, 2))
        + (rng.sample(ids[ItemType.RISK_CONTROL], 1) if rng.random() < 0.3 else []),
        ItemType.ARCHITECTURE: lambda: rng.sample(ids[ItemType.REQUIREMENT], rng.randint(1, 3)),
    }
    bare: dict[str, Item] = {}
    for item_type in (ItemType.NEED, ItemType.HAZARD, ItemType.RISK_CONTROL, ItemType.REQUIREMENT, ItemType.ARCHITECTURE):
        for item_id in ids[item_type]:
            attributes: dict[str, object] = dict(HAZARD_ATTRIBUTES) if item_type is ItemType.HAZARD else {}
            if item_type is ItemType.RISK_CONTROL:
                attributes["control_type"] = "protective_measure"
            safety = "B" if item_type in (ItemType.REQUIREMENT, ItemType.ARCHITECTURE, ItemType.RISK_CONTROL) else None
            links = tuple(Link(p, None, 0) for p in dict.fromkeys(parents_of[item_type]()))
            bare[item_id] = Item(item_id, item_type, f"Item {item_id}", _text(rng), "", 1, links, safety, attributes)
    prints = {i: fingerprint(item) for i, item in bare.items()}
    items = [Item(i.id, i.type, i.title, i.text, i.file, i.line, tuple(Link(k.parent, prints[k.parent], 0) for k in i.links),
                  i.safety_class, i.attributes) for i in bare.values()]
    return Graph(items)


def _yaml(item: Item) -> str:
    lines = [f"id: {item.id}", f"type: {item.type.value}", f"title: {item.title}"]
    if item.safety_class:
        lines.append(f"safety_class: {item.safety_class}")
    lines += [f"{k}: {v}" for k, v in item.attributes.items()]
    lines += ["text: >", f"  {item.text}"]
    if item.links:
        lines += ["parents:"] + [f"  - {k.parent}: {k.reviewed}" for k in item.links]
    return "\n".join(lines) + "\n"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


def generate(root: Path, n_items: int, n_tests: int, seed: int = 1) -> TestRun:
    """Write the project under `root` (a new folder), commit it, and return its passing test run."""
    graph = build_graph(n_items, seed)
    root.mkdir(parents=True)
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "Benchmark device"\nintended_use = "benchmark"\nsafety_class = "B"\n',
                                   encoding="utf-8")
    (root / ".gitignore").write_text(".qms/\n", encoding="utf-8")
    for item in graph.items:
        folder = root / "design" / item.type.value
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{item.id}.yaml").write_text(_yaml(item), encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "benchmark design")
    head = _git(root, "rev-parse", "HEAD")
    rng = random.Random(seed + 1)
    targets = [i.id for i in graph.items if i.type in (ItemType.REQUIREMENT, ItemType.RISK_CONTROL)]
    results = [TestResult(f"tests/test_{t // 100:04d}.py::test_{t:06d}", Outcome.PASSED, 0.001,
                          tuple(rng.sample(targets, rng.randint(1, 2))), f"Verifies behaviour {t}.") for t in range(n_tests)]
    covered = {v for r in results for v in r.verifies}
    results += [TestResult(f"tests/test_extra.py::test_{i}", Outcome.PASSED, 0.001, (i,), "") for i in targets if i not in covered]
    return TestRun("Benchmark device", head, False, "t0", "t1", "3.11", "bench", {}, 0, tuple(results))


def generate_doorstop(root: Path, n_items: int, seed: int = 1) -> None:
    """The same items as a doorstop tree: one document per type, one YAML file per item."""
    graph = build_graph(n_items, seed)
    parent_doc = {ItemType.NEED: None, ItemType.REQUIREMENT: "NEED", ItemType.ARCHITECTURE: "REQ",
                  ItemType.HAZARD: "NEED", ItemType.RISK_CONTROL: "HAZ"}
    root.mkdir(parents=True)
    for item_type, parent in parent_doc.items():
        folder = root / PREFIX[item_type].lower()
        folder.mkdir()
        settings = f"settings:\n  digits: 5\n  prefix: {PREFIX[item_type]}\n  sep: '-'\n"
        (folder / ".doorstop.yml").write_text(settings + (f"  parent: {parent}\n" if parent else ""), encoding="utf-8")
    for n, item in enumerate(graph.items, start=1):
        links = "".join(f"- {k.parent}: null\n" for k in item.links) if item.links else "[]\n"
        (root / PREFIX[item.type].lower() / f"{item.id}.yml").write_text(
            f"active: true\nderived: false\nheader: ''\nlevel: 1.{n}\nlinks:{' ' if not item.links else chr(10)}{links}"
            f"normative: true\nref: ''\nreviewed: null\ntext: |\n  {item.text}\n", encoding="utf-8")
    _git(root, "init", "-q")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--tests", type=int, default=20000)
    args = parser.parse_args()
    run = generate(args.root, args.items, args.tests)
    print(f"{args.items} items, {len(run.results)} test results at {run.commit}")


if __name__ == "__main__":
    main()
