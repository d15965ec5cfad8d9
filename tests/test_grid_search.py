"""The grid worker's search keeps ID numbers, phones and names out of URLs and SQL text.

A query that is personal data is accepted only by POST; by GET it is refused without
being repeated anywhere. A document number goes to the blind index and nowhere else.
"""

from __future__ import annotations

import re

import pytest
from helpers import log_in, token_of
from sqlalchemy import event, select

from registry.address.models import Address
from registry.dwelling.models import Dwelling
from registry.person.models import Person, Residence


@pytest.fixture
def worker(demo_app):
    """grid0001's logged-in client."""
    return log_in(demo_app, "grid0001")


def resident_of_cell_one(session, **where) -> Person:
    return session.scalar(
        select(Person)
        .join(Residence, Residence.person_id == Person.id)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id == 1, Residence.moved_out.is_(None))
        .filter_by(**where)
        .order_by(Person.id)
        .limit(1)
    )


def post_search(client, q: str, **fields):
    token = token_of(client, "/cells/search")
    return client.post("/cells/search", data={"csrf_token": token, "q": q, **fields})


def spaced(number: str) -> str:
    """The number as a worker might type it: in groups, with a lower-case x."""
    return f"{number[:6]} {number[6:14]} {number[14:]}".lower()


def variants(number: str) -> list[str]:
    """Every form of the number that must not leak: as stored, typed, or without the check."""
    return [number, number.lower(), spaced(number), number[:17], number[6:14] + number[14:17]]


def test_a_personal_query_by_get_is_refused_without_an_echo(worker, demo_db, cipher):
    person = resident_of_cell_one(demo_db, document_type="resident_id")
    number = cipher.decrypt(bytes(person.document_ciphertext))
    for query in (number, spaced(number), person.phone or "13812345678", person.name):
        response = worker.get("/cells/search", query_string={"q": query})
        assert response.status_code == 303
        assert response.headers["Location"] == "/cells/search"  # nothing carried along
        page = worker.get(response.headers["Location"]).get_data(as_text=True)
        assert query not in page and "Search for a person with the Search button" in page
        assert f"/cells/people/{person.id}" not in page  # and nothing was searched
    chosen = worker.get(
        "/cells/search", query_string={"q": "E1234567", "document_type": "passport"}
    )
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/cells/search"


def test_door_numbers_and_roads_stay_on_get_so_back_works(worker, demo_db):
    building = demo_db.scalar(
        select(Address).where(Address.grid_cell_id == 1, Address.building.is_not(None)).limit(1)
    )
    door = f"{building.door_number}号{building.building}栋"
    posted = post_search(worker, door)
    assert posted.status_code == 303
    assert posted.headers["Location"].startswith("/cells/search?q=")
    page = worker.get(posted.headers["Location"])
    assert page.status_code == 200
    assert f"/cells/addresses/{building.id}" in page.get_data(as_text=True)


def test_a_document_number_is_found_by_post_and_never_shown(worker, demo_db, cipher):
    person = resident_of_cell_one(demo_db, document_type="resident_id")
    number = cipher.decrypt(bytes(person.document_ciphertext))
    response = post_search(worker, spaced(number))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"/cells/people/{person.id}" in body
    assert not [form for form in variants(number) if form in body]
    assert number[:6] + "********" + number[-4:] in body  # shown masked only
    assert response.headers["Cache-Control"] == "no-store"
    switch = re.findall(r'href="([^"]*lang=[^"]*)"', body)
    assert switch and all("q=" not in link for link in switch)


def _binary(value) -> bool:
    return isinstance(getattr(value, "adapted", value), bytes | memoryview)


def test_a_document_number_reaches_sql_only_as_its_blind_index(
    worker, demo_db, demo_connection, cipher
):
    person = resident_of_cell_one(demo_db, document_type="resident_id")
    number = cipher.decrypt(bytes(person.document_ciphertext))
    token = token_of(worker, "/cells/search")
    sent: list[str] = []
    bound: list[list] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        values = list(parameters.values()) if isinstance(parameters, dict) else [parameters]
        bound.append([bytes(getattr(v, "adapted", v)) for v in values if _binary(v)])
        sent.append(statement)
        sent.append(repr(parameters))

    event.listen(demo_connection.engine, "before_cursor_execute", capture)
    try:
        response = worker.post("/cells/search", data={"csrf_token": token, "q": spaced(number)})
    finally:
        event.remove(demo_connection.engine, "before_cursor_execute", capture)
    assert f"/cells/people/{person.id}" in response.get_data(as_text=True)
    leaks = [text for text in sent for form in variants(number) if form in text]
    assert leaks == []
    index = cipher.blind_index("resident_id", number)
    assert any(index in values for values in bound)  # looked up by its blind index
    searches = ("FROM organisation", "ILIKE", "full_text ~", "regexp")
    assert not [text for text in sent for word in searches if word in text]  # index only


def test_a_passport_is_searched_when_the_type_is_chosen(worker, demo_db, cipher):
    holder = resident_of_cell_one(demo_db, document_type="passport")
    if holder is None:
        pytest.skip("no passport holder in cell 1 of this demo")
    number = cipher.decrypt(bytes(holder.document_ciphertext))
    detected = post_search(worker, number).get_data(as_text=True)
    assert f"/cells/people/{holder.id}" not in detected  # not guessed from its shape
    chosen = post_search(worker, number, document_type="passport")
    body = chosen.get_data(as_text=True)
    assert f"/cells/people/{holder.id}" in body and number not in body
    wrong = post_search(worker, "E1", document_type="passport")
    assert wrong.status_code == 422 and 'value="E1"' not in wrong.get_data(as_text=True)


def test_a_phone_number_finds_people_only(worker, demo_db, demo_connection):
    person = demo_db.scalar(
        select(Person)
        .join(Residence, Residence.person_id == Person.id)
        .join(Dwelling, Dwelling.id == Residence.dwelling_id)
        .join(Address, Address.id == Dwelling.address_id)
        .where(Address.grid_cell_id == 1, Person.phone.is_not(None))
        .limit(1)
    )
    token = token_of(worker, "/cells/search")
    sent: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement + repr(parameters))

    event.listen(demo_connection.engine, "before_cursor_execute", capture)
    try:
        body = worker.post("/cells/search", data={"csrf_token": token, "q": person.phone}).get_data(
            as_text=True
        )
    finally:
        event.remove(demo_connection.engine, "before_cursor_execute", capture)
    assert f"/cells/people/{person.id}" in body
    assert not [text for text in sent if person.phone in text and "full_text" in text]
