"""`side_by_side`: a command's few heavy items in forked processes, results in the items' order, errors raised here."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.compute.local import side_by_side, usable_cores
from qms.errors import QmsError


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
