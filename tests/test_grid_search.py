"""The grid worker's search keeps ID numbers, phones and names out of URLs and SQL text.

A query that is personal data is accepted only by POST; by GET it is refused without
being repeated anywhere. A document number goes to the blind index and nowhere else.
"""

from __future__ import annotations

import re

import pytest
from helpers import log_in, token_of
from sqlalchemy import event, func, select

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
    """Search by POST; a personal search answers with a redirect to its kept results, which
    this follows (the results page is what the browser shows)."""
    token = token_of(client, "/cells/search")
    response = client.post("/cells/search", data={"csrf_token": token, "q": q, **fields})
    location = response.headers.get("Location", "")
    if response.status_code == 303 and location.startswith("/cells/search/results/"):
        return client.get(location)
    return response


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
        response = worker.post(
            "/cells/search", data={"csrf_token": token, "q": spaced(number)}, follow_redirects=True
        )
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
        body = worker.post(
            "/cells/search", data={"csrf_token": token, "q": person.phone}, follow_redirects=True
        ).get_data(as_text=True)
    finally:
        event.remove(demo_connection.engine, "before_cursor_execute", capture)
    assert f"/cells/people/{person.id}" in body
    assert not [text for text in sent if person.phone in text and "full_text" in text]


# -- door numbers as people type them ------------------------------------------------------


def target_room(session) -> tuple[Address, Dwelling]:
    """A room in cell 1 that no other address of the cell shares building, entrance and room
    with (the demo's 宝港路2号26栋1单元601室 is one such in the seed the README shows)."""
    unique = (
        select(Address.building, Address.entrance, Address.room)
        .where(Address.grid_cell_id == 1, Address.room.is_not(None))
        .group_by(Address.building, Address.entrance, Address.room)
        .having(func.count() == 1)
    ).subquery()
    address = session.scalar(
        select(Address)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .join(
            unique,
            (unique.c.building == Address.building)
            & (unique.c.entrance == Address.entrance)
            & (unique.c.room == Address.room),
        )
        .where(Address.grid_cell_id == 1, Address.room.op("~")("^[0-9]{3,4}$"))
        .order_by(Address.id)
        .limit(1)
    )
    dwelling = session.scalar(select(Dwelling).where(Dwelling.address_id == address.id))
    return address, dwelling


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


LOOSE = [
    "{b}栋{r}",
    "{b}栋 {r}",
    "{wb}幢{wr}",
    "{road} {r}",
    "{road}{b}号楼{r}",
]
ONE_ROOM = ["{b}-{e}-{r}", "{road}{d}号{b}栋{e}单元{r}室", "{b}栋{e}单元{r}室", "{b}-{e}-{r}室"]


def typed_as(pattern: str, address: Address) -> str:
    return pattern.format(
        d=address.door_number,
        b=address.building,
        e=address.entrance,
        r=address.room,
        wb=full_width(address.building),
        wr=full_width(address.room),
        road=address.road.name,
    )


@pytest.mark.parametrize("pattern", LOOSE)
def test_a_door_number_typed_loosely_finds_the_room_with_its_status(worker, demo_db, pattern):
    address, dwelling = target_room(demo_db)
    response = worker.get("/cells/search", query_string={"q": typed_as(pattern, address)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The room is listed, linked to its dwelling, with its status at a glance.
    row = re.search(rf'href="/cells/dwellings/{dwelling.id}(?:\?[^"]*)?">(.*?)</a>', page, re.S)
    assert row, page[-3000:]
    assert 'class="badge' in row.group(1) and "living here" in row.group(1)


@pytest.mark.parametrize("pattern", ONE_ROOM)
def test_a_door_number_that_names_one_room_opens_its_dwelling(worker, demo_db, pattern):
    address, dwelling = target_room(demo_db)
    response = worker.get("/cells/search", query_string={"q": typed_as(pattern, address)})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert response.headers["Location"] == f"/cells/dwellings/{dwelling.id}"


def test_the_closest_reading_comes_first(worker, demo_db):
    address, _dwelling = target_room(demo_db)
    typed = f"{address.building}栋{address.room}"
    page = worker.get("/cells/search", query_string={"q": typed}).get_data(as_text=True)
    links = [int(i) for i in re.findall(r'href="/cells/dwellings/(\d+)[?"]', page)]
    assert links
    found = demo_db.scalars(
        select(Address)
        .join(Dwelling, Dwelling.address_id == Address.id)
        .where(Dwelling.id.in_(links))
    ).all()
    # Every room listed is that building's room of that number; an entrance numbered like
    # the room would come after them.
    assert all(a.building == address.building and a.room == address.room for a in found)


def test_a_typo_in_the_road_still_finds_it_by_similarity(worker, demo_db):
    address, _dwelling = target_room(demo_db)
    road = address.road.name
    typo = road[0] + "蝌" + road[2:] if len(road) > 2 else road
    typed = f"{typo}{address.door_number}号{address.building}栋"
    page = worker.get("/cells/search", query_string={"q": typed}).get_data(as_text=True)
    assert f"/cells/addresses/{address.parent_id}" in page or road in page


def test_a_door_number_outside_the_cells_finds_nothing(demo_app, demo_db):
    address, dwelling = target_room(demo_db)
    other = log_in(demo_app, "grid0002")
    typed = typed_as("{b}-{e}-{r}", address)
    page = other.get("/cells/search", query_string={"q": typed})
    assert page.status_code in (200, 302)
    assert page.headers.get("Location") != f"/cells/dwellings/{dwelling.id}"
    assert f"/cells/dwellings/{dwelling.id}" not in page.get_data(as_text=True)


# -- Back works: personal results are kept on the server under a token ------------------


def test_a_personal_search_redirects_to_results_kept_under_a_token(worker, demo_db, cipher):
    person = resident_of_cell_one(demo_db, document_type="resident_id")
    token = token_of(worker, "/cells/search")
    posted = worker.post("/cells/search", data={"csrf_token": token, "q": person.name})
    assert posted.status_code == 303  # POST/redirect/GET: Back never re-posts
    location = posted.headers["Location"]
    assert re.fullmatch(r"/cells/search/results/[A-Za-z0-9_-]{32}", location)
    assert person.name not in location
    page = worker.get(location)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    link = re.search(rf'href="(/cells/people/{person.id}\?results=[^"]+)"', body)
    assert link, "the person's link carries the way back"
    record = worker.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="{location}"' in record  # "back to results" on the record page
    assert worker.get(location).status_code == 200  # Back: the same results again


def test_kept_results_hold_no_query_and_belong_to_one_user(worker, demo_app, demo_db):
    from registry.searches.models import KeptSearch

    person = resident_of_cell_one(demo_db, document_type="resident_id")
    location = post_search_location(worker, person.name)
    kept = demo_db.scalars(select(KeptSearch)).all()
    assert len(kept) == 1
    assert person.name not in repr(kept[0].found) and kept[0].scope == "gridwork"
    assert location.rsplit("/", 1)[1].encode() not in bytes(kept[0].token_hash)
    # Another worker, the officer's page, a forged token: all "not found".
    other = log_in(demo_app, "grid0002")
    assert other.get(location).status_code == 404
    assert worker.get("/cells/search/results/" + "A" * 32).status_code == 404
    token = location.rsplit("/", 1)[1]
    officer = log_in(demo_app, "officer1")
    assert officer.get(f"/dashboard/lookup/results/{token}").status_code == 404
    # Nothing of it is in the session cookie.
    cookie = worker.get_cookie("session")
    assert cookie is None or token not in cookie.value


def test_kept_results_expire(worker, demo_db):
    from datetime import timedelta

    from registry.searches.models import KeptSearch

    person = resident_of_cell_one(demo_db, document_type="resident_id")
    location = post_search_location(worker, person.name)
    kept = demo_db.scalars(select(KeptSearch)).one()
    kept.expires_at = kept.created_at - timedelta(seconds=1)
    demo_db.flush()
    assert worker.get(location).status_code == 404


def post_search_location(client, q: str) -> str:
    token = token_of(client, "/cells/search")
    response = client.post("/cells/search", data={"csrf_token": token, "q": q})
    assert response.status_code == 303
    return response.headers["Location"]


def test_door_number_results_lead_back_too(worker, demo_db):
    address, dwelling = target_room(demo_db)
    typed = f"{address.building}栋{address.room}"
    page = worker.get("/cells/search", query_string={"q": typed}).get_data(as_text=True)
    link = re.search(rf'href="(/cells/dwellings/{dwelling.id}\?q=[^"]+)"', page)
    assert link
    record = worker.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "/cells/search?q=" in record and "Back to results" in record
