"""Design items and the trace: browse, read, see a suspect link's change, and review it (`qms trace review`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from qms import audit, checkpoint_log
from qms.errors import QmsError
from qms.store import Store
from qms.traceability import ItemType, TraceReport
from qms.traceability.history import item_history, parent_change
from qms.traceability.review import review
from qms.web.rendering import page
from qms.web.security import User, check_csrf
from qms.web.errors import log
from qms.web.state import AppState, app_state

__all__ = ["ITEMS_PER_PAGE", "ROWS_PER_PAGE", "router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]
ITEMS_PER_PAGE = 100
ROWS_PER_PAGE = 200


def _matches(report: TraceReport, q: str, kind: str) -> list[str]:
    needle = q.casefold().strip()
    found = []
    for item_id, row in sorted(report.rows.items()):
        item = row.item
        if kind and item.type.value != kind:
            continue
        if needle and needle not in item_id.casefold() and needle not in item.title.casefold() \
                and needle not in item.text.casefold():
            continue
        found.append(item_id)
    return found


@router.get("/items")
def items(session: User, state: State, q: str = "", kind: Annotated[str, Query(alias="type")] = "",
          page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    report = state.traces.report(state.project, state.store)
    ids = _matches(report, q, kind)
    pages = max(1, -(-len(ids) // ITEMS_PER_PAGE))
    page_no = min(max(page_no, 1), pages)
    shown = [report.rows[i] for i in ids[(page_no - 1) * ITEMS_PER_PAGE: page_no * ITEMS_PER_PAGE]]
    return page(state.templates, "items.html.j2", session, rows=shown, q=q, kind=kind, kinds=[t.value for t in ItemType],
                total=len(ids), page_no=page_no, pages=pages, children=report.design.children)


def _item_or_404(report: TraceReport, item_id: str) -> None:
    if item_id not in report.rows:
        raise HTTPException(404)


@router.get("/items/{item_id}")
def item(session: User, state: State, item_id: str) -> Response:
    project = state.project
    report = state.traces.report(project, state.store)
    _item_or_404(report, item_id)
    row = report.rows[item_id]
    design = report.design
    parents = [(link, design.items.get(link.parent)) for link in row.item.links]
    suspect = {link.parent for link, parent in parents if parent is not None and link.reviewed != parent.fingerprint}
    return page(state.templates, "item.html.j2", session, row=row, parents=parents, suspect=suspect,
                children=sorted(design.children.get(item_id, [])),
                gaps=[g for g in report.gaps if g.item == item_id], history=item_history(project.root, row.item))


@router.get("/items/{item_id}/links/{parent_id}/diff")
def link_diff(request: Request, session: User, state: State, item_id: str, parent_id: str) -> Response:
    project = state.project
    report = state.traces.report(project, state.store)
    _item_or_404(report, item_id)
    link = next((k for k in report.rows[item_id].item.links if k.parent == parent_id), None)
    parent = report.design.items.get(parent_id)
    if link is None or parent is None:
        raise HTTPException(404)
    change = parent_change(project.root, parent, link.reviewed)
    template = "_diff.html.j2" if request.headers.get("HX-Request") else "diff.html.j2"  # htmx swaps in the fragment
    return page(state.templates, template, session, change=change, item_id=item_id)


@router.post("/items/{item_id}/review")
def review_links(session: User, state: State, item_id: str, csrf: Annotated[str, Form()],
                 parent: Annotated[str, Form()] = "") -> Response:
    """The signed-in person reviewed the link(s); the library records it with them as the actor."""
    check_csrf(session.csrf, csrf)
    with state.recording:
        first = audit.head(state.store)[0] + 1
        review(state.project, state.store, item_id, session.user_id, (parent,) if parent else ())
        _witness(state.store, first)
    return RedirectResponse(f"/items/{item_id}", status_code=303)


@router.get("/trace")
def trace_page(session: User, state: State,
               page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    report = state.traces.report(state.project, state.store)
    ids = sorted(report.rows)
    pages = max(1, -(-len(ids) // ROWS_PER_PAGE))
    page_no = min(max(page_no, 1), pages)
    rows = [report.rows[i] for i in ids[(page_no - 1) * ROWS_PER_PAGE: page_no * ROWS_PER_PAGE]]
    return page(state.templates, "trace.html.j2", session, rows=rows, gaps=report.gaps, head=report.head,
                tests=len(report.tests), total=len(ids), page_no=page_no, pages=pages, passed=report.passed)


def _witness(store: Store, first: int) -> None:
    """Seal the review's events into the project's checkpoint log at once, as a CLI command does when it ends: the gate
    requires every review inside a signed line's range (`qms.gate.coverage`). A refused seal leaves the review recorded
    (the gate then names it)."""
    try:
        checkpoint_log.after_recording(store, since=first)
    except QmsError as exc:
        log.warning("a link review is witnessed by no signed checkpoint: %s", exc.message)
