"""`registry bench search` picks real values in the users' scope, different from each other.

The benchmark itself runs against the large demo under gunicorn (README); here only its
choice of values and its percentile are checked, on the small demo.
"""

from __future__ import annotations

from helpers import DEMO_TODAY, account

from registry.bench.search import percentile, real_values
from registry.dashboard.services import find_people, find_person_by_document


def test_values_are_distinct_real_and_found_by_the_users_look_up(demo_session, cipher):
    officer, worker = account(demo_session, "officer1"), account(demo_session, "grid0001")
    values = real_values(demo_session, cipher, officer, worker, 10)
    for kind in ("names2", "names3", "phones", "documents", "doors", "grid"):
        chosen = getattr(values, kind)
        assert len(chosen) == 10 and len(set(chosen)) == 10, kind
    assert {len(name) for name in values.names2} == {2}
    assert {len(name) for name in values.names3} == {3}
    assert all(find_people(demo_session, officer, cipher, n, DEMO_TODAY) for n in values.names3)
    assert all(
        find_person_by_document(demo_session, officer, cipher, "resident_id", n, DEMO_TODAY)
        for n in values.documents
    )


def test_percentile_is_the_nearest_rank():
    times = [float(n) for n in range(1, 51)]
    assert percentile(times, 0.95) == 48.0
    assert percentile(times, 0.5) == 25.0
    assert percentile([7.0], 0.95) == 7.0
