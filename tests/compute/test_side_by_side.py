"""`side_by_side`: a command's few heavy items in forked processes, results in the items' order, errors raised here."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.compute.local import LocalEngine, WorkerLost, side_by_side, usable_cores
from qms.errors import ExitCode, QmsError


def _pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def _refuse(n: int) -> int:
    if n == 3:
        raise QmsError(f"item {n} is unreadable", where=f"item-{n}.pdf", hint="replace it")
    return n


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=12), st.integers(1, 3))
def test_results_come_back_in_the_items_order(items: list[int], workers: int) -> None:
    """Whatever finishes first, result i is item i's."""
    assert [square for _, square in side_by_side(_pid_and_square, items, workers)] == [n * n for n in items]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=12), st.integers(1, 3))
def test_with_a_cost_results_still_come_back_in_the_items_order(items: list[int], workers: int) -> None:
    """Handing the costliest out first changes when items run, never which result is whose."""
    assert [square for _, square in side_by_side(_pid_and_square, items, workers, cost=abs)] == [n * n for n in items]


def test_the_costliest_items_are_handed_out_first() -> None:
    """In one process the items run in the order they are handed out: costliest first, ties in the items' order."""
    ran: list[str] = []

    def upper(name: str) -> str:
        ran.append(name)
        return name.upper()

    results = side_by_side(upper, ["sdp", "soup-list", "srs", "validation"], 1, cost=len)
    assert ran == ["validation", "soup-list", "sdp", "srs"]
    assert results == ["SDP", "SOUP-LIST", "SRS", "VALIDATION"]


def test_two_workers_run_in_other_processes() -> None:
    """With two workers the items run in forked children, not in the caller."""
    pids = {pid for pid, _ in side_by_side(_pid_and_square, list(range(8)), 2)}
    assert os.getpid() not in pids and pids


def test_one_worker_runs_here() -> None:
    assert {pid for pid, _ in side_by_side(_pid_and_square, [1, 2, 3], 1)} == {os.getpid()}


def test_a_child_error_is_raised_with_its_place_and_hint() -> None:
    """A QmsError in a child reaches the caller whole: message, where and hint (the CLI prints all three)."""
    with pytest.raises(QmsError) as caught:
        side_by_side(_refuse, [1, 2, 3, 4], 2)
    assert (caught.value.message, caught.value.where, caught.value.hint) == ("item 3 is unreadable", "item-3.pdf",
                                                                             "replace it")


def test_usable_cores_is_the_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0)) >= 1


def _die_on(n: int) -> int:
    if n == 5:
        os._exit(7)  # as the kernel's OOM killer or a crash in native code would leave it: no answer, no exception
    return n


def test_a_child_that_dies_fails_the_run_naming_the_item_instead_of_hanging() -> None:
    """A dead worker used to be replaced while its item was waited for forever (a CI run hung on it)."""
    with pytest.raises(WorkerLost) as caught:
        side_by_side(_die_on, [1, 2, 3, 4, 5, 6], 2)
    assert caught.value.exit_code is ExitCode.INTERNAL  # not read by CI as a failed check
    assert 4 in caught.value.unfinished and set(caught.value.unfinished) <= set(range(6))
    assert re.search(r"\b5\b", caught.value.message) and "did not finish" in caught.value.message  # 1-based


def test_a_dead_child_is_named_in_the_callers_order_whatever_the_cost_order() -> None:
    """Handed out costliest first, the lost item is still named by its place in the caller's list."""
    with pytest.raises(WorkerLost) as caught:
        side_by_side(_die_on, [5, 1], 2, cost=lambda n: -n)  # 1 is handed out first, 5 (the caller's first) second
    assert 0 in caught.value.unfinished and set(caught.value.unfinished) <= {0, 1}


def test_a_stream_stopped_early_returns_and_leaves_no_worker() -> None:
    """A caller that stops reading a long stream is not kept waiting, and no worker outlives the map."""
    stream = LocalEngine(2).map(abs, iter(range(100_000)))
    first = [next(stream) for _ in range(10)]
    stream.close()
    assert len(first) == 10 and not multiprocessing.active_children()



def test_a_lost_worker_error_survives_pickling_whole() -> None:
    """Raised inside another worker, the error crosses a process boundary with its items and message intact."""
    lost = pickle.loads(pickle.dumps(WorkerLost([2, 0])))
    assert (lost.unfinished, lost.message, lost.exit_code) == ((2, 0), WorkerLost([2, 0]).message, ExitCode.INTERNAL)
