"""The service's limits: per-client request rate (a token bucket, rate per second and burst, refilled by the monotonic
clock) and the inference slots (requests scoring at once).

`Limits.in_process` keeps both in the service's process; `Limits.across_processes` keeps them in shared memory made
before `qms api serve --workers N` forks, so its workers enforce one rate per client and one count of slots, as one
process would. Both limiters spend a bucket with the one `_spend`; only where the buckets are kept differs.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Limits", "Rate", "RateLimiter", "SharedRateLimiter", "Slots"]

Bucket = tuple[float, float]
"""(tokens left, monotonic time they were counted)."""


def _spend(bucket: Bucket | None, now: float, rate: float, burst: int) -> tuple[Bucket, bool]:
    """The bucket after one request at `now` (refilled since it was counted, capped at `burst`), and whether the
    request may pass; a client never seen starts with a full burst."""
    tokens, last = bucket if bucket is not None else (float(burst), now)
    tokens = min(float(burst), tokens + max(0.0, now - last) * rate)
    if tokens < 1.0:
        return (tokens, now), False
    return (tokens - 1.0, now), True


class Rate(Protocol):
    def allow(self, client: str) -> bool:
        """False once `client` has spent its burst faster than the rate."""


class Slots(Protocol):
    """A bounded semaphore: `threading.BoundedSemaphore` or `multiprocessing.BoundedSemaphore`."""

    def acquire(self, blocking: bool = True, /, timeout: float | None = None) -> bool: ...

    def release(self) -> None: ...


@dataclass
class RateLimiter:
    """`allow(client)` is False once a client has spent its burst faster than `rate` requests per second."""

    rate: float
    burst: int
    _buckets: dict[str, Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self._buckets[client], allowed = _spend(self._buckets.get(client), now, self.rate, self.burst)
            return allowed


class SharedRateLimiter:
    """`RateLimiter` over a fixed table in shared memory, for processes forked after it is made.

    The table holds `capacity` clients by a 64-bit key from the sha256 of their name (open addressing, linear
    probing; a slot once taken is never emptied). When every slot is taken, a client new to the table takes the
    slot of one whose bucket has refilled to its burst (it is then as if never seen); when no bucket has, the new
    client is refused (fail closed) until one has. `time.monotonic` is the machine's clock, the same in every process.
    """

    def __init__(self, rate: float, burst: int, capacity: int = 1024) -> None:
        ctx = multiprocessing.get_context("fork")
        self.rate, self.burst, self.capacity = rate, burst, capacity
        self._keys: Any = ctx.RawArray("q", capacity)  # 0: a free slot
        self._buckets: Any = ctx.RawArray("d", 2 * capacity)  # a slot's (tokens, last); tokens NaN: a client new to it
        self._lock = ctx.Lock()

    @staticmethod
    def key(client: str) -> int:
        """The client's key in the table: never 0, the same in every process (unlike `hash`)."""
        return int.from_bytes(hashlib.sha256(client.encode()).digest()[:8], "big", signed=True) or 1

    def _slot(self, key: int, now: float) -> int | None:
        """The slot holding `key`, else a free or refilled one taken for it (its bucket reset); None: none is."""
        start = (key & 0x7FFFFFFFFFFFFFFF) % self.capacity
        keys, buckets = self._keys, self._buckets
        for i in range(self.capacity):
            slot = (start + i) % self.capacity
            if keys[slot] == key:
                return slot
            if keys[slot] == 0:
                keys[slot], buckets[2 * slot] = key, float("nan")
                return slot
        for slot in range(self.capacity):
            tokens, last = buckets[2 * slot], buckets[2 * slot + 1]
            if tokens + (now - last) * self.rate >= self.burst:
                keys[slot], buckets[2 * slot] = key, float("nan")
                return slot
        return None

    def allow(self, client: str) -> bool:
        key = self.key(client)
        with self._lock:
            now = time.monotonic()  # read under the lock: the buckets' times only ever grow
            slot = self._slot(key, now)
            if slot is None:
                return False
            tokens, last = self._buckets[2 * slot], self._buckets[2 * slot + 1]
            (tokens, last), allowed = _spend(None if math.isnan(tokens) else (tokens, last), now, self.rate, self.burst)
            self._buckets[2 * slot], self._buckets[2 * slot + 1] = tokens, last
            return allowed


@dataclass(frozen=True)
class Limits:
    """The rate per client and the inference slots one service enforces, whatever its number of processes."""

    rate: Rate
    slots: Slots
    concurrency: int

    @classmethod
    def in_process(cls, rate: float, burst: int, concurrency: int) -> Limits:
        return cls(RateLimiter(rate, burst), threading.BoundedSemaphore(concurrency), concurrency)

    @classmethod
    def across_processes(cls, rate: float, burst: int, concurrency: int) -> Limits:
        """Limits in shared memory and process-shared semaphores: make them before forking the processes that share
        them (a lock held at a fork stays held in the child)."""
        ctx = multiprocessing.get_context("fork")
        return cls(SharedRateLimiter(rate, burst), ctx.BoundedSemaphore(concurrency), concurrency)
