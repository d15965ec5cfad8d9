"""Rules run again, in the same transaction, after every change to a dwelling's records.

Every service that changes a dwelling, its residences, its filings, their tenants or their
pledges is decorated with :func:`rechecks_flags`. While the service runs, the decorator
collects every such row the session flushes (new, changed or deleted), whatever the
service's own code did (a move-in that also ends a stay elsewhere touches two dwellings),
and then runs the rules for those dwellings' addresses before the service returns. A flag
whose facts the change removed resolves itself in the very transaction that removed them;
one the change created is raised in it.

Only services are decorated: the request or command that called them commits once, so the
change and its flags are committed (or rolled back) together.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, select
from sqlalchemy import inspect as inspect_instance
from sqlalchemy.orm import Session

from registry.dwelling.models import Dwelling
from registry.flags.run import RunResult, addresses_of, run_rules
from registry.lease.models import LeaseFiling, LeaseTenant, RentalPledge, SecurityGuarantee
from registry.person.models import Residence

_COLLECTORS = "registry.flags.collectors"
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Touched:
    """The dwellings (and filings, resolved to dwellings at the end) a service changed."""

    dwelling_ids: set[int] = field(default_factory=set)
    filing_ids: set[int] = field(default_factory=set)

    def note(self, instance: Any) -> None:
        match instance:
            case Dwelling():
                self.dwelling_ids.add(instance.id)
            case Residence() | LeaseFiling():
                self.dwelling_ids.update(_values_of(instance, "dwelling_id"))
            case LeaseTenant() | RentalPledge() | SecurityGuarantee():
                self.filing_ids.update(_values_of(instance, "lease_filing_id"))

    def dwellings(self, session: Session) -> set[int]:
        ids = set(self.dwelling_ids)
        if self.filing_ids:
            ids.update(
                session.scalars(
                    select(LeaseFiling.dwelling_id).where(LeaseFiling.id.in_(self.filing_ids))
                )
            )
        ids.discard(None)
        return ids


def _values_of(instance: Any, name: str) -> Iterable[int]:
    """The attribute's value now and, if this flush changed it, the value before."""
    history = inspect_instance(instance).attrs[name].history
    return [v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None]


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    collectors: list[Touched] = session.info.get(_COLLECTORS, [])
    if not collectors:
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        for touched in collectors:
            touched.note(instance)


@contextmanager
def collecting(session: Session) -> Iterator[Touched]:
    """Collect what the session flushes inside the block."""
    touched = Touched()
    collectors = session.info.setdefault(_COLLECTORS, [])
    collectors.append(touched)
    try:
        yield touched
        session.flush()
    finally:
        collectors.remove(touched)


def recheck_dwellings(session: Session, dwelling_ids: Iterable[int], today: date) -> RunResult:
    """Run every rule again for these dwellings (their addresses), in the caller's
    transaction: the one function every change to a dwelling's records ends with."""
    return run_rules(session, today, address_ids=addresses_of(session, dwelling_ids))


def rechecks_flags(service: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service that takes ``session`` and ``today``: after it, the rules run
    for every dwelling whose records it changed. Nested decorated services recheck once,
    when the outermost returns."""
    signature = inspect.signature(service)
    for name in ("session", "today"):
        if name not in signature.parameters:
            raise TypeError(f"{service.__qualname__} takes no {name!r}: it cannot recheck")

    @wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        session: Session = bound.arguments["session"]
        today: date = bound.arguments["today"]
        if session.info.get(_COLLECTORS):
            return service(*args, **kwargs)  # an outer service rechecks
        with collecting(session) as touched:
            result = service(*args, **kwargs)
        recheck_dwellings(session, touched.dwellings(session), today)
        return result

    wrapper.rechecks_flags = True  # type: ignore[attr-defined]
    return wrapper
