"""`registry bench audit`: what the audit log costs a page that shows many people.

Runs on the demo district (it logs in as ``officer1`` and writes real view entries, so
use a demo database). Two measures:

- An officer's look-up by the commonest first two characters of a name, which lists up to
  50 people (the medium demo has 50 for it, the small one fewer), through the real app
  (Flask's test client, no server needed). A SQLAlchemy ``before_cursor_execute`` listener
  on the app's engine counts every statement the request sends, and among them the chain
  lock's acquisitions (``pg_advisory_xact_lock``).
- Two writers on two connections: the first views a person and keeps its transaction open
  for ``hold`` seconds; meanwhile the second views someone else and commits. Printed: how
  long the second took, beside the hold. A second writer that waits for the first's
  commit takes about the hold.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from sqlalchemy import event, select, text

CHAIN_LOCK_CALL = "pg_advisory_xact_lock"
OFFICER = "officer1"


@dataclass
class LookupCost:
    people: int
    statements: int
    chain_locks: int
    seconds: float


def _commonest_name_start(session) -> str:
    """The two characters most names begin with (a name query needs two)."""
    return session.scalar(
        text("SELECT left(name, 2) FROM person GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    )


def lookup_cost(app, password: str) -> LookupCost:
    """Count the statements and chain locks of one look-up that lists many people."""
    factory = app.extensions["registry.session_factory"]
    with factory() as session:
        name_start = _commonest_name_start(session)
    client = app.test_client()
    client.post("/login", data={"username": OFFICER, "password": password})
    # Warm templates, pool and caches. A look-up answers with a redirect to its kept results
    # (registry/searches): the cost counted is the POST and the results page it leads to.
    client.post("/dashboard/lookup", data={"q": name_start}, follow_redirects=True)
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    engine = factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    started = time.perf_counter()
    try:
        response = client.post("/dashboard/lookup", data={"q": name_start}, follow_redirects=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    seconds = time.perf_counter() - started
    html = response.get_data(as_text=True)
    people = len(set(re.findall(r'href="/dashboard/people/(\d+)[?"]', html)))
    locks = sum(CHAIN_LOCK_CALL in statement for statement in statements)
    return LookupCost(people, len(statements), locks, seconds)


def second_writer_wait(factory, hold: float) -> float:
    """Seconds a second viewer takes to commit while a first one holds its transaction."""
    from registry.accounts.models import UserAccount
    from registry.person.models import Person
    from registry.person.services import view_person

    def view(session, offset: int) -> None:
        officer = session.scalar(select(UserAccount).where(UserAccount.username == OFFICER))
        person_id = session.scalar(select(Person.id).order_by(Person.id).offset(offset).limit(1))
        view_person(session, officer, person_id)
        session.flush()

    with factory() as warm, factory() as warm_too:  # two pooled connections, like a server's
        warm.execute(text("SELECT 1"))
        warm_too.execute(text("SELECT 1"))
    first = factory()
    view(first, 0)
    took: dict[str, float] = {}

    def second_viewer() -> None:
        started = time.perf_counter()
        with factory() as second:
            view(second, 1)
            second.commit()
        took["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=second_viewer)
    thread.start()
    time.sleep(hold)
    first.commit()
    first.close()
    thread.join()
    return took["seconds"]


def run_audit_benchmark(app, password: str, hold: float = 0.5) -> str:
    """The figures, as lines to print."""
    cost = lookup_cost(app, password)
    wait = second_writer_wait(app.extensions["registry.session_factory"], hold)
    return "\n".join(
        [
            f"look-up listing {cost.people} people as {OFFICER}: {cost.statements} SQL "
            f"statements, {cost.chain_locks} chain lock acquisitions, {cost.seconds * 1000:.0f} ms",
            f"second viewer committed in {wait * 1000:.0f} ms while the first held its "
            f"transaction open for {hold * 1000:.0f} ms (ratio {wait / hold:.2f})",
        ]
    )
