"""A refused form keeps a typed document number sealed: never echoed, never lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from helpers import DEMO_TODAY, dwelling_of_cell, log_in, token_of, unused_resident_id
from sqlalchemy import select

from registry.person.models import Person
from registry.web.sealed import SEALED_SECONDS, seal, unseal


@pytest.fixture
def worker(demo_app):
    return log_in(demo_app, "grid0001")


def sealed_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}-sealed" value="([^"]+)"', html)
    assert match, f"no sealed {name}"
    return match.group(1)


def test_a_move_in_refused_for_the_date_keeps_the_number_sealed(worker, demo_db, cipher):
    dwelling = dwelling_of_cell(demo_db, 1)
    number = unused_resident_id(demo_db, cipher, "19880808", 700)
    url = f"/cells/dwellings/{dwelling.id}/move-in"
    fields = {
        "document_type": "resident_id",
        "name": "封存测试",
        "kind": "transient",
        "relationship": "tenant",
    }
    token = token_of(worker, url)
    refused = worker.post(
        url,
        data={
            "csrf_token": token,
            **fields,
            "document_number": number,
            "moved_in": (DEMO_TODAY + timedelta(days=5)).isoformat(),  # in the future
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert number not in html and number.lower() not in html
    assert "Kept: 110101********" + number[-4:] in html
    sealed = sealed_value(html, "document_number")
    # The worker fixes the date and leaves the number's box empty: the sealed one is used.
    moved = worker.post(
        url,
        data={
            "csrf_token": token,
            **fields,
            "document_number": "",
            "document_number-sealed": sealed,
            "moved_in": DEMO_TODAY.isoformat(),
        },
    )
    assert moved.status_code == 302, re.findall(r'class="error">([^<]*)<', moved.get_data(True))
    person = demo_db.scalar(select(Person).where(Person.name == "封存测试"))
    assert cipher.decrypt(bytes(person.document_ciphertext)) == number


class Someone:
    """Stands in for the logged-in user: only the id binds a sealed value."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    def get_id(self) -> str:
        return str(self.user_id)


def test_a_sealed_number_opens_only_for_its_user_field_and_half_hour(demo_app, monkeypatch):
    monkeypatch.setattr("registry.web.sealed.current_user", Someone(1))
    with demo_app.test_request_context("/"):
        token = seal("11010519491231002X", "document_number")
        assert unseal(token, "document_number") == "11010519491231002X"
        assert unseal(token, "owner_document_number") is None  # another field
        assert unseal(token[:-6] + "AAAAAA", "document_number") is None  # tampered
        assert unseal("not a token", "document_number") is None
        later = datetime.now(UTC) + timedelta(seconds=SEALED_SECONDS + 60)
        with freeze_time(later):
            assert unseal(token, "document_number") is None  # expired
        monkeypatch.setattr("registry.web.sealed.current_user", Someone(2))
        assert unseal(token, "document_number") is None  # another user


def _person_form(person, **changes) -> dict:
    return {
        "name": person.name,
        "document_type": "resident_id",
        "document_number": "",
        "phone": person.phone or "",
        "birth_date": "",
        "version": str(person.version),
    } | changes


def test_a_person_correction_refused_for_another_field_keeps_the_new_number_sealed(
    worker, demo_db, cipher
):
    from helpers import resident_of_cell

    person = resident_of_cell(demo_db, 1).person
    number = unused_resident_id(demo_db, cipher, "19900303", 710)
    url = f"/cells/people/{person.id}/edit"
    token = token_of(worker, url)
    refused = worker.post(
        url,
        data={"csrf_token": token, **_person_form(person, document_number=number, phone="12")},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert number not in html and number.lower() not in html
    assert "Kept: 110101********" + number[-4:] in html
    assert "Leave empty to keep the stored number" not in html  # empty now uses the kept one
    # The worker corrects the phone and leaves the number's box empty: the new one is saved.
    saved = worker.post(
        url,
        data={
            "csrf_token": token,
            **_person_form(person, phone="13800138000"),
            "document_number-sealed": sealed_value(html, "document_number"),
        },
    )
    assert saved.status_code == 302, re.findall(r'class="error">([^<]*)<', saved.get_data(True))
    demo_db.refresh(person)
    assert cipher.decrypt(bytes(person.document_ciphertext)) == number


def test_the_conflict_page_shows_a_typed_number_masked_and_sends_it_back_sealed(
    worker, demo_db, cipher
):
    from helpers import resident_of_cell

    person = resident_of_cell(demo_db, 1).person
    number = unused_resident_id(demo_db, cipher, "19900404", 720)
    url = f"/cells/people/{person.id}/edit"
    token = token_of(worker, url)
    stale = _person_form(person, document_number=number, version=str(person.version - 1))
    conflict = worker.post(url, data={"csrf_token": token, **stale})
    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert number not in html and number.lower() not in html
    assert "110101********" + number[-4:] in html
    # "Save my input" posts what the page holds: the sealed number, and it is saved.
    sealed = sealed_value(html, "document_number")
    resent = _person_form(person) | {"document_number-sealed": sealed}
    saved = worker.post(url, data={"csrf_token": token, **resent})
    assert saved.status_code == 302, re.findall(r'class="error">([^<]*)<', saved.get_data(True))
    demo_db.refresh(person)
    assert cipher.decrypt(bytes(person.document_ciphertext)) == number
