"""The service's limits: the token bucket per client, in one process and shared by forked processes, and the
inference slots shared by forked processes."""

from __future__ import annotations

import multiprocessing
from typing import Any

from qms.api.limits import Limits, RateLimiter, SharedRateLimiter

_FORK = multiprocessing.get_context("fork")


def test_a_client_gets_its_burst_then_is_refused_while_another_is_not() -> None:
    """In one process, at a rate far below the test's speed, a client passes `burst` times and is then refused, and
    another client still has its own burst."""
    for limiter in (RateLimiter(0.001, 3), SharedRateLimiter(0.001, 3)):
        assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
        assert limiter.allow("b")


def _spend(limiter: SharedRateLimiter, client: str, times: int, out: Any) -> None:
    out.put([limiter.allow(client) for _ in range(times)])


def test_the_shared_bucket_is_spent_by_every_process() -> None:
    """A client's burst of 3 spent twice in a forked process leaves it one request in the parent, then none."""
    limiter = SharedRateLimiter(0.001, 3)
    out = _FORK.SimpleQueue()
    child = _FORK.Process(target=_spend, args=(limiter, "clinic", 2, out))
    child.start()
    child.join(timeout=30)
    assert out.get() == [True, True]
    assert [limiter.allow("clinic"), limiter.allow("clinic")] == [True, False]


def test_a_full_table_takes_only_a_refilled_bucket_for_a_new_client() -> None:
    """With every slot of the table taken, a new client is refused while no bucket has refilled (fail closed), and
    answered once one has (at a rate that refills at once)."""
    slow = SharedRateLimiter(0.001, 1, capacity=2)
    assert slow.allow("a") and slow.allow("b")
    assert not slow.allow("c")
    assert not slow.allow("a")  # refusing c did not cost a its place
    fast = SharedRateLimiter(1e9, 1, capacity=2)
    assert fast.allow("a") and fast.allow("b") and fast.allow("c")


def _hold(limits: Limits, held: Any, release: Any) -> None:
    assert limits.slots.acquire(timeout=30)
    held.set()
    release.wait(30)
    limits.slots.release()


def test_an_inference_slot_taken_in_one_process_is_taken_in_the_other() -> None:
    """With one slot, a forked process holding it leaves none to the parent until it releases it."""
    limits = Limits.across_processes(1.0, 1, concurrency=1)
    held, release = _FORK.Event(), _FORK.Event()
    child = _FORK.Process(target=_hold, args=(limits, held, release))
    child.start()
    try:
        assert held.wait(30)
        assert not limits.slots.acquire(timeout=0.2)
        release.set()
        assert limits.slots.acquire(timeout=30)
        limits.slots.release()
    finally:
        release.set()
        child.join(timeout=30)
    assert child.exitcode == 0
