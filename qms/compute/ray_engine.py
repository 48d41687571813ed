"""The Ray engine: blocks of items as Ray tasks, a stateful stage on an actor pool.

`address` None starts (or joins, when this process already started one) a local Ray with
`num_cpus`; `auto` joins the cluster this machine belongs to, `ray://host:port` a remote one
through Ray Client. A local Ray runs its workers at the caller's own priority (`start_local`), as
the local pool's are (Ray's default renices them to 15). `preload` names modules (the per-item
function's) every worker imports before the engine is returned, as the local engine's process has
them imported before its first item and its pool's workers inherit them. Blocks are submitted with
at most two per CPU in flight, so the driver's memory stays flat in the number of items. A worker that dies
mid-block (killed, out of memory) has its block run again by Ray (task retries, system failures
only): the driver receives each block's results once, and the per-item functions write their
outputs atomically, so a block run twice leaves each output whole and once. An exception raised by
a function is not retried: it reaches the caller.
"""

from __future__ import annotations

import importlib
import platform
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ray

from qms.compute.engine import blocks

__all__ = ["LOCAL_CONFIG", "RETRIES", "RayEngine", "start_local"]

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")

RETRIES = 3
"""How often Ray runs a block again whose worker died (Ray's default for tasks)."""
_END = object()


LOCAL_CONFIG: dict[str, Any] = {
    "worker_niceness": 0,
    "enable_metrics_collection": False,
    "task_events_report_interval_ms": 0,
    "event_stats": False,
}
"""Ray's system settings for a Ray started here (`start_local`); a cluster joined by address keeps its own."""


def start_local(num_cpus: int | None) -> None:
    """Start a Ray on this machine with `num_cpus` CPUs (None: all), its workers at this process's priority,
    without the bookkeeping only a cluster's dashboard reads (`LOCAL_CONFIG`).

    Ray renices every worker to 15 by default (its `worker_niceness`) so that its own daemons stay responsive
    on a node given over to Ray. On a machine shared with other work that puts the workers behind every other
    process, while the local pool's workers and the single in-process worker keep the caller's priority
    (benchmarks/RESULTS.md, "Ray's 2-CPU gap profiled"). A Ray started here therefore leaves its workers at
    the priority of the process that started it. Its driver, workers, raylet and GCS also record no metrics,
    no task events (the dashboard's task list and timeline) and no event-loop statistics: on a 2-CPU
    machine these took ~0.05 CPU-ms a file of Ray's daemons and ~0.015 of its driver (RESULTS.md, issue 17,
    eighth stop). Failures still reach the caller: a task's error travels with its result."""
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _system_config=LOCAL_CONFIG)


def _resources() -> dict[str, float]:
    return dict(ray.cluster_resources())  # type: ignore[no-untyped-call]


_CACHED: dict[str, Callable[[Any], Any]] = {}  # per worker process: the function of the running map


def _function(ref: ray.ObjectRef[Any]) -> Callable[[Any], Any]:
    """The map's function, fetched once per worker process so the state it builds lazily is built once."""
    key = ref.hex()
    if key not in _CACHED:
        _CACHED.clear()
        _CACHED[key] = ray.get(ref)
    return _CACHED[key]


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


@ray.remote(max_retries=RETRIES)
def _run_block(refs: list[ray.ObjectRef[Any]], block: list[Any]) -> list[Any]:
    fn = _function(refs[0])  # wrapped in a list so Ray passes the reference, not the value
    return [fn(item) for item in block]


@ray.remote(max_restarts=RETRIES, max_task_retries=RETRIES)
class _Stage:
    """One actor of a stateful stage; kept between stages so its imports (torch) are paid once."""

    def __init__(self) -> None:
        self._worker: Callable[[Any], Any] | None = None

    def install(self, factory: Callable[[], Callable[[Any], Any]]) -> None:
        self._worker = factory()

    def run(self, batch: Any) -> Any:
        assert self._worker is not None, "install() runs before run()"
        return self._worker(batch)


@dataclass
class RayEngine:
    """Work on a Ray cluster; `address` None is a local Ray of `num_cpus` CPUs."""

    address: str | None = None
    num_cpus: int | None = None
    preload: tuple[str, ...] = ()
    name: str = field(default="ray", init=False)
    _actors: list[Any] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not ray.is_initialized():
            if self.address is None:
                start_local(self.num_cpus)
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        if self.preload:
            self._warm()

    def _warm(self) -> None:
        """Every worker imports `preload` now, through the task that later runs the blocks (so Ray has fetched
        that too): one task per CPU at once, each on its own worker. Not Ray's `worker_process_setup_hook`: with
        one, Ray starts no worker until the first task arrives (measured, Ray 2.60), and a failing hook kills
        the worker instead of raising here."""
        ref = ray.put(_import_all)
        ray.get([_run_block.remote([ref], [self.preload]) for _ in range(self.workers)])

    @property
    def workers(self) -> int:
        return max(1, int(_resources().get("CPU", 1)))

    def _gpus(self) -> int:
        return int(_resources().get("GPU", 0))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ref = ray.put(fn)
        pending = blocks(items, self.workers)
        running: list[ray.ObjectRef[list[R]]] = []
        limit = 2 * self.workers
        while True:
            while len(running) < limit and (block := next(pending, None)) is not None:
                running.append(_run_block.remote([ref], block))
            if not running:
                return
            done, running = ray.wait(running, num_returns=1)
            yield from ray.get(done[0])

    def _stage_actors(self) -> list[Any]:
        """One actor per GPU of the cluster (one on CPU without GPUs), made on first use and kept."""
        if not self._actors:
            gpus = self._gpus()
            self._actors = [_Stage.options(num_gpus=1 if gpus else 0).remote()  # type: ignore[attr-defined]
                            for _ in range(gpus or 1)]
        return self._actors

    def pool(self, factory: Callable[[], Callable[[B], R]], batches: Iterable[B]) -> Iterator[R]:
        actors = self._stage_actors()
        ray.get([actor.install.remote(factory) for actor in actors])
        running: dict[ray.ObjectRef[R], Any] = {}
        free = deque(actors * 2)  # two batches queued per actor: the next is ready when one finishes
        source = iter(batches)
        exhausted = False
        while not exhausted or running:
            while free and not exhausted:
                batch = next(source, _END)
                if batch is _END:
                    exhausted = True
                    break
                actor = free.popleft()
                running[actor.run.remote(batch)] = actor
            if not running:
                break
            done, _ = ray.wait(list(running), num_returns=1)
            free.append(running.pop(done[0]))
            yield ray.get(done[0])

    def cluster(self) -> dict[str, Any]:
        nodes = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
        resources = _resources()
        return {"engine": self.name, "address": self.address or "local", "nodes": len(nodes),
                "cpus": int(resources.get("CPU", 0)), "gpus": int(resources.get("GPU", 0)),
                "gpu_types": sorted({k.removeprefix("accelerator_type:") for n in nodes for k in n.get("Resources", {})
                                     if k.startswith("accelerator_type:")}),
                "ray": ray.__version__, "python": platform.python_version()}

