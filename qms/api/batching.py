"""Dynamic batching: concurrent requests for the same model are scored in one call of the scorer.

Leader/follower, like the recorder's group commit (`qms.api.recording.Recorder`), with no thread
of its own. A request is admitted once the service has routed it to its model (`admit`, on the
event loop, before its body is read and its thread is started, so the requests still in the HTTP
layer count as on their way) and arrives when its instances are parsed (`Admitted.score`). An
arrived request whose model has no batch running leads (when fewer than `lanes` batches of it run:
one in this process, one per replica on Ray Serve): while requests admitted for that model are
still on their way it waits for them, at most `max_wait` seconds, then takes the arrived requests
(oldest first, up to `max_images` instances) and scores them in one call; those arriving meanwhile
wait and one of them leads the next batch. A request alone in the service waits for nobody. Each
request gets back its own rows. A batch that fails is scored again request by request, so an
instance the model cannot take (a 422) fails its own request only. A request that brings a `seal`
(its inference record, built from its scores) is recorded by the leader with the batch's other
records, in one call of `record` (one commit), before any of them is woken: the answers of a batch
wait for one durable commit, not one each in turn. The lane stays taken until that commit is done:
a commit beside the next batch's forward pass took ~3x as long (the two contend for the GIL), and
freeing the lane earlier measured no faster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from qms.api.ingest import Instance
from qms.api.recording import Row
from qms.models.loaders import LoadedModel

__all__ = ["Admitted", "Batcher", "Record", "Scores", "Seal"]

Scores = list[dict[str, float]]
Score = Callable[[LoadedModel, Sequence[Instance]], Scores]
Seal = Callable[[Scores], Row]
Record = Callable[[Sequence[Row]], None]


@dataclass(eq=False)  # a request is itself, whatever it carries
class _Job:
    model: LoadedModel
    instances: Sequence[Instance]
    seal: Seal | None = None
    scores: Scores | None = None
    error: BaseException | None = None
    sealed: bool = False  # its record committed (or none asked for)
    done: bool = False


@dataclass
class _Line:
    """One model version's requests: admitted and not arrived, arrived and waiting, and the batches running."""

    coming: int = 0
    waiting: list[_Job] = field(default_factory=list)
    running: int = 0


class Batcher:
    """Scores requests with `score`, batched per model version (`ref` and digest)."""

    def __init__(self, score: Score, *, max_images: int, max_wait: float, lanes: int = 1,
                 record: Record | None = None) -> None:
        if max_images < 1 or max_wait < 0 or lanes < 1:
            raise ValueError(f"max_images and lanes must be >= 1 and max_wait >= 0 (got {max_images}, {lanes}, {max_wait})")
        self._score, self._max_images, self._max_wait, self._lanes = score, max_images, max_wait, lanes
        self._record = record
        self._cond = threading.Condition()
        self._lines: dict[tuple[str, str], _Line] = {}

    @contextmanager
    def admit(self, model: LoadedModel) -> Iterator[Admitted]:
        """The request counts as on its way to `model`'s next batch until it arrives or leaves the block."""
        key = (model.ref, model.digest)
        with self._cond:
            line = self._lines.setdefault(key, _Line())
            line.coming += 1
        admitted = Admitted(self, model, line)
        try:
            yield admitted
        finally:
            if not admitted.arrived:
                with self._cond:
                    line.coming -= 1
                    self._cond.notify_all()

    def _arrive(self, job: _Job, line: _Line) -> Scores:
        with self._cond:
            line.coming -= 1
            line.waiting.append(job)
            self._cond.notify_all()
            while not job.done:
                if line.running >= self._lanes or job not in line.waiting:
                    self._cond.wait()
                    continue
                line.running += 1
                deadline = time.monotonic() + self._max_wait
                while line.coming and self._images(line.waiting) < self._max_images \
                        and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                if job not in line.waiting:  # another lane's leader took it meanwhile
                    line.running -= 1
                    self._cond.notify_all()
                    continue
                group = self._take(line)
                self._cond.release()
                try:
                    self._run(group)
                    self._seal(group)
                finally:
                    self._cond.acquire()
                    for member in group:
                        if member.error is None and (member.scores is None or not member.sealed):  # leader interrupted
                            member.error = RuntimeError("the batch was interrupted")
                        member.done = True
                    line.running -= 1
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        assert job.scores is not None
        return job.scores

    @staticmethod
    def _images(jobs: list[_Job]) -> int:
        return sum(len(j.instances) for j in jobs)

    def _take(self, line: _Line) -> list[_Job]:
        """The oldest waiting requests up to `max_images` instances (at least one request, however large)."""
        count, size = 0, 0
        for job in line.waiting:
            if count and size + len(job.instances) > self._max_images:
                break
            count, size = count + 1, size + len(job.instances)
        group, line.waiting = line.waiting[:count], line.waiting[count:]
        return group

    def _run(self, group: list[_Job]) -> None:
        """One call for the group; if it fails, one call per request, each keeping its own outcome."""
        try:
            scores = self._score(group[0].model, [i for job in group for i in job.instances])
        except Exception as exc:  # noqa: BLE001 - re-run alone below, or handed to the one request it belongs to
            if len(group) == 1:
                group[0].error = exc
            else:
                for job in group:
                    self._run([job])
        else:
            start = 0
            for job in group:
                job.scores, start = scores[start:start + len(job.instances)], start + len(job.instances)

    def _seal(self, group: list[_Job]) -> None:
        """The records of the group's scored requests, built by their seals and committed in one `record` call; a
        seal that fails fails its own request, a failed commit every request it carried."""
        sealed: list[_Job] = []
        rows: list[Row] = []
        for job in group:
            if job.scores is None:
                continue
            if job.seal is None:
                job.sealed = True
                continue
            try:
                rows.append(job.seal(job.scores))
            except Exception as exc:  # noqa: BLE001 - handed to the request it belongs to
                job.error = exc
            else:
                sealed.append(job)
        if not rows:
            return
        assert self._record is not None  # Admitted.score refuses a seal without it
        try:
            self._record(rows)
        except Exception as exc:  # noqa: BLE001 - handed to every request of the commit
            for job in sealed:
                job.error = exc
        else:
            for job in sealed:
                job.sealed = True


@dataclass
class Admitted:
    """A request admitted to a model's batches; `score` hands over its instances and waits for their rows (and, with a
    `seal`, for its record's commit: the scores come back only once the record is durable)."""

    _batcher: Batcher
    model: LoadedModel
    _line: _Line
    arrived: bool = False

    def score(self, instances: Sequence[Instance], seal: Seal | None = None) -> Scores:
        if seal is not None and self._batcher._record is None:
            raise TypeError("a request with a seal needs a batcher that records (Batcher(record=...))")
        self.arrived = True
        return self._batcher._arrive(_Job(self.model, instances, seal), self._line)
