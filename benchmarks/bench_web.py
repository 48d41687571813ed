"""Benchmark of `qms serve`: server time of the design-item browser and the trace page at 5,000 items (warm), and
20 concurrent sessions reading and signing on PostgreSQL over loopback.

    python benchmarks/bench_web.py [--items 5000] [--tests 20000] [--repeats 5] [--sessions 20] [--skip-load]

Part 1 (SQLite, in process, no network: the server's own time): the generated project of
bench_trace.py (gen_trace_project.py, seeded), one person enrolled and signed in, then each
page requested once to warm it and `--repeats` times more; medians. The named baseline,
measured in the same run, is the CLI's warm `trace(project, store)` (what `qms trace` pays
on every call, cache in .qms/ included), which the page would pay without its own cache.

Part 2 (PostgreSQL at QMS_TEST_POSTGRES_URL, a fresh database): the web tests' example
site (tests/web/site.py), a real uvicorn server on 127.0.0.1, and `--sessions` clients in
threads, each signing in with its passphrase, reading six pages, and re-entering its
passphrase once: the reviewers decline the release with a reason (one of them signs it
instead). Any non-2xx/3xx answer is an error; the audit chain must verify intact after.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PASS = "benchmark passphrase 1"
PAGES = ("/items", "/items?q=behaviour", "/items/{item}", "/trace", "/trace?page=10")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form token"
    return found.group(1)


def browser_figures(items: int, tests: int, repeats: int, work: Path) -> dict[str, float]:
    from gen_trace_project import generate
    from starlette.testclient import TestClient

    from qms.config import load_project
    from qms.signing import Role, add_user, init_ca
    from qms.store import open_store
    from qms.traceability import record_run, trace
    from qms.web import WebSettings, create_app

    root = work / "p"
    run = generate(root, items, tests)
    url = f"sqlite:///{work / 'store.db'}"
    store = open_store(url)
    record_run(store, run, "bench")
    init_ca(work / "home", "Bench Ltd", PASS)
    add_user(store, work / "home", "bench.reader", "Bench Reader", Role.ENGINEER, PASS, PASS, actor="admin")
    project = load_project(root)
    trace(project, store)  # fill the CLI's cache: the baseline below is its warm path
    baseline = []
    for _ in range(repeats):
        start = time.perf_counter()
        report = trace(project, store)
        baseline.append(time.perf_counter() - start)
    item = sorted(report.rows)[len(report.rows) // 2]
    store.dispose()
    app = create_app(WebSettings.for_project(root, url, work / "home"))
    figures: dict[str, float] = {"baseline_cli_trace_warm_s": statistics.median(baseline)}
    with TestClient(app, follow_redirects=False) as client:
        token = _csrf(client.get("/signin").text)
        assert client.post("/signin", data={"user_id": "bench.reader", "passphrase": PASS, "csrf": token}).status_code == 303
        for path in PAGES:
            path = path.format(item=item)
            assert client.get(path).status_code == 200, path  # warm
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200
            figures[path.replace(item, "ITEM")] = statistics.median(times)
    app.state.qms.store.dispose()
    return figures


def _postgres_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("QMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"qms_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def load_figures(sessions: int, work: Path) -> dict[str, float]:
    import httpx2

    from qms import audit
    from qms.release_steps import steps
    from qms.store import open_store
    from tests.release.demo_org import passphrase
    from tests.web.served import serving
    from tests.web.site import VERSION, build_site

    admin_url, url = _postgres_database()
    try:
        site = build_site(work / "site", url)
        people = ["demo.reviewer", "demo.author", "demo.approver"]
        errors: list[str] = []
        latencies: list[float] = []
        lock = threading.Lock()
        start_line = threading.Barrier(sessions)
        signed = threading.Event()

        def session(n: int, base: str) -> None:
            user = people[n % len(people)]
            with httpx2.Client(base_url=base, follow_redirects=False, timeout=120) as client:
                def call(method: str, path: str, **kw: object) -> httpx2.Response:
                    t0 = time.perf_counter()
                    r = client.request(method, path, **kw)  # type: ignore[arg-type]
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                        if r.status_code >= 400:
                            errors.append(f"{user} {method} {path}: {r.status_code}")
                    return r

                start_line.wait()
                token = _csrf(call("GET", "/signin").text)
                call("POST", "/signin", data={"user_id": user, "passphrase": passphrase(user), "csrf": token})
                for path in ("/items", "/items/REQ-001", "/trace", "/releases", f"/releases/{VERSION}", "/audit"):
                    call("GET", path)
                if user == "demo.reviewer":
                    ceremony = call("GET", f"/releases/{VERSION}/sign?meaning=reviewed").text
                    form = {"csrf": _csrf(ceremony), "meaning": "reviewed", "user_id": user, "passphrase": passphrase(user)}
                    with lock:
                        first = not signed.is_set()
                        signed.set()
                    if first:
                        call("POST", f"/releases/{VERSION}/sign", data=form)
                    else:
                        call("POST", f"/releases/{VERSION}/decline", data={**form, "reason": f"load session {n}"})

        with serving(site.settings()) as base:
            started = time.perf_counter()
            threads = [threading.Thread(target=session, args=(n, base)) for n in range(sessions)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        store = open_store(url, create=False)
        chain = audit.verify(store)
        declined = len(audit.log(store, action="release.declined"))
        opened = len(audit.log(store, action="session.open"))
        state = steps(store, VERSION)[-1].step
        store.dispose()
        assert not errors, errors[:5]
        assert chain.intact and opened == sessions and state == "reviewed"
        return {"sessions": sessions, "requests": len(latencies), "errors": len(errors), "wall_s": wall,
                "median_request_s": statistics.median(latencies), "p95_request_s": sorted(latencies)[int(0.95 * len(latencies))],
                "declines_recorded": declined, "chain_events": chain.events}
    finally:
        _drop(admin_url, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--tests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        figures = browser_figures(args.items, args.tests, args.repeats, Path(tmp) / "browse")
        print(f"design-item browser and trace page, {args.items} items, warm, server time (median of {args.repeats}):")
        for name, value in figures.items():
            print(f"  {name:32s} {value * 1000:8.1f} ms")
        if not args.skip_load:
            load = load_figures(args.sessions, Path(tmp) / "load")
            print(f"{args.sessions} concurrent sessions on PostgreSQL over loopback:")
            for name, value in load.items():
                print(f"  {name:32s} {value:.3f}" if isinstance(value, float) else f"  {name:32s} {value}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
