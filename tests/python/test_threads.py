"""One App shared by many threads: every request applies, none is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

import brp

THREADS = 8
INSERTS = 250


def run_together(work: Callable[[int], None]) -> None:
    """Runs ``work(n)`` for every thread number at once; re-raises any failure."""
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_concurrent_inserts_all_apply() -> None:
    app = brp.App({"auto_declare": True})
    shared = app.spawn({})
    own = [app.spawn({"Counter": None}) for _ in range(THREADS)]

    def work(n: int) -> None:
        client: brp.App | brp.Session = app.session() if n % 2 else app
        for i in range(INSERTS):
            client.insert(own[n], {"Counter": {"thread": n, "i": i}})
            client.insert(shared, {f"T{n}_{i % 5}": i})

    run_together(work)
    assert [app.get(e, ["Counter"])["Counter"] for e in own] == [
        {"thread": n, "i": INSERTS - 1} for n in range(THREADS)
    ]
    names = [f"T{n}_{k}" for n in range(THREADS) for k in range(5)]
    assert app.get(shared, names) == {
        f"T{n}_{k}": INSERTS - 5 + k for n in range(THREADS) for k in range(5)
    }


def test_concurrent_spawns_get_distinct_ids() -> None:
    app = brp.App({"components": ["Owner"]})
    spawned: list[list[str]] = [[] for _ in range(THREADS)]

    def work(n: int) -> None:
        for _ in range(INSERTS):
            spawned[n].append(app.spawn({"Owner": n}))

    run_together(work)
    owners = {entity: n for n, batch in enumerate(spawned) for entity in batch}
    assert len(owners) == THREADS * INSERTS
    assert {row["id"]: row["Owner"] for row in app.query(["Owner"])} == owners
