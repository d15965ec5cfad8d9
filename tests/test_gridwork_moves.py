"""Moving people between dwellings through the grid worker's pages: scope through a document.

Reproduces the review's findings: grid0001 "moved in" a resident of another cell under a
made-up name and then read and changed that person's details; a person moved into a second
dwelling (number typed with spaces, another name) ended up living in both.
"""

from __future__ import annotations

import re

import pytest
from helpers import DEMO_TODAY, audit_entries, dwelling_of_cell, log_in, post_form
from sqlalchemy import select, text

from registry.person.models import Person, Residence


@pytest.fixture
def worker(demo_app):
    return log_in(demo_app, "grid0001")


def current_stay_in_cell(session, cell_id: int, *, owner_elsewhere: bool = False) -> Residence:
    """A current resident-ID holder's stay in a cell (optionally one who owns a dwelling
    outside cell 1, so that a move into cell 1 leaves a tie outside grid0001's scope)."""
    owning = """AND EXISTS (SELECT 1 FROM dwelling o JOIN address oa ON oa.id = o.address_id
                            WHERE o.owner_person_id = p.id AND oa.grid_cell_id <> 1)"""
    residence_id = session.execute(
        text(f"""
        SELECT r.id FROM residence r JOIN person p ON p.id = r.person_id
        JOIN dwelling d ON d.id = r.dwelling_id JOIN address a ON a.id = d.address_id
        WHERE a.grid_cell_id = :cell AND r.moved_out IS NULL AND r.moved_in < :today
          AND p.document_type = 'resident_id' {owning if owner_elsewhere else ""}
        ORDER BY r.id LIMIT 1"""),
        {"cell": cell_id, "today": DEMO_TODAY},
    ).scalar_one()
    return session.get(Residence, residence_id)


def move_in_form(number: str, name: str, **changes) -> dict:
    return {
        "document_type": "resident_id",
        "document_number": number,
        "name": name,
        "phone": "",
        "birth_date": "",
        "moved_in": DEMO_TODAY.isoformat(),
        "kind": "transient",
        "relationship": "tenant",
    } | changes


def confirmation_form(page: str) -> dict:
    """The hidden fields of the confirmation page, as the browser posts them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def links_to_dwelling(page: str, dwelling_id: int) -> bool:
    """Whether a list links to the dwelling (its links may carry the list's own arguments)."""
    return re.search(rf'href="/cells/dwellings/{dwelling_id}[?"]', page) is not None


def test_a_made_up_name_attaches_nobody_and_reveals_nothing(worker, demo_db, cipher):
    theirs = current_stay_in_cell(demo_db, 2)
    person = theirs.person
    number = cipher.decrypt(bytes(person.document_ciphertext))
    target = dwelling_of_cell(demo_db, 1)
    response = post_form(
        worker, f"/cells/dwellings/{target.id}/move-in", move_in_form(number, "随便编的")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "on record under another name" in page
    assert person.name not in page
    assert (
        demo_db.scalar(
            select(Residence.id).where(
                Residence.person_id == person.id, Residence.dwelling_id == target.id
            )
        )
        is None
    )
    # Nothing attached, so nothing to read or change either.
    assert worker.get(f"/cells/people/{person.id}").status_code == 404
    assert [e.action for e in audit_entries(demo_db, "person", person.id)] == ["name_mismatch"]


def test_a_person_with_a_tie_outside_the_cell_can_be_moved_in_but_not_corrected(
    worker, demo_db, cipher
):
    theirs = current_stay_in_cell(demo_db, 2, owner_elsewhere=True)
    person = theirs.person
    before = (person.name, person.phone, person.version)
    number = cipher.decrypt(bytes(person.document_ciphertext))
    target = dwelling_of_cell(demo_db, 1)
    typed = f" {number[:6]} {number[6:14]} {number[14:]} "  # spaced, as people type it
    asked = post_form(
        worker, f"/cells/dwellings/{target.id}/move-in", move_in_form(typed, person.name)
    )
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="confirm-move"' in page
    assert "outside your cells" in page
    assert theirs.dwelling.address.full_text not in page  # not in scope: not said where
    assert number not in page  # the confirmation carries a signed token, not the number
    confirmed = worker.post(f"/cells/dwellings/{target.id}/move-in", data=confirmation_form(page))
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    demo_db.expire_all()
    assert theirs.moved_out == DEMO_TODAY and theirs.end_checked_on is None

    # Seen now (lives in cell 1), but they still own a dwelling elsewhere: not correctable.
    profile = worker.get(f"/cells/people/{person.id}").get_data(as_text=True)
    assert 'id="not-correctable"' in profile
    assert f"/cells/people/{person.id}/edit" not in profile
    assert worker.get(f"/cells/people/{person.id}/edit").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', profile).group(1)
    changed = worker.post(
        f"/cells/people/{person.id}/edit",
        data={
            "csrf_token": token,
            "version": str(person.version),
            "name": "改掉的名字",
            "document_type": "resident_id",
            "document_number": "",
            "phone": "13900000000",
        },
    )
    assert changed.status_code == 403
    demo_db.refresh(person)
    assert (person.name, person.phone, person.version) == before


def test_moving_into_a_second_dwelling_ends_the_first_and_tells_its_worker(
    demo_app, worker, demo_db, cipher
):
    theirs = current_stay_in_cell(demo_db, 2)
    person = theirs.person
    number = cipher.decrypt(bytes(person.document_ciphertext))
    target = dwelling_of_cell(demo_db, 1)
    other = log_in(demo_app, "grid0002")
    cell_2 = f"/cells/?cell={theirs.dwelling.address.grid_cell_id}&show=attention"
    assert moved_away_flag(demo_db, theirs.dwelling_id) is None

    asked = post_form(
        worker, f"/cells/dwellings/{target.id}/move-in", move_in_form(number, person.name)
    )
    confirmed = worker.post(
        f"/cells/dwellings/{target.id}/move-in",
        data=confirmation_form(asked.get_data(as_text=True)),
    )
    assert confirmed.status_code == 302
    homes = demo_db.scalars(
        select(Residence).where(
            Residence.person_id == person.id,
            (Residence.moved_out.is_(None)) | (Residence.moved_out > DEMO_TODAY),
        )
    ).all()
    assert [stay.dwelling_id for stay in homes] == [target.id]  # one home, not two "至今"

    # grid0002 finds the dwelling's flag in "needs attention", checks the stay, and the flag
    # resolves itself.
    flag = moved_away_flag(demo_db, theirs.dwelling_id)
    listed = other.get(cell_2).get_data(as_text=True)
    assert links_to_dwelling(listed, theirs.dwelling_id) and f'/flags/{flag.id}"' in listed
    page = other.get(f"/cells/dwellings/{theirs.dwelling_id}").get_data(as_text=True)
    assert f"/cells/residences/{theirs.id}/move-checked" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert (
        other.post(
            f"/cells/residences/{theirs.id}/move-checked", data={"csrf_token": token}
        ).status_code
        == 302
    )
    demo_db.expire_all()
    assert theirs.end_checked_on == DEMO_TODAY
    assert f'/flags/{flag.id}"' not in other.get(cell_2).get_data(as_text=True)
    demo_db.refresh(flag)
    assert flag.state == "resolved" and flag.decided_by_id is None
    assert audit_entries(demo_db, "residence", theirs.id)[-1].changes == {
        "end_checked_on": [None, DEMO_TODAY.isoformat()]
    }


def moved_away_flag(session, dwelling_id: int):
    """The live "stay ended from elsewhere" flag of a dwelling, if any."""
    from registry.flags.models import Flag, RuleCode

    session.expire_all()
    return session.scalar(
        select(Flag).where(
            Flag.dwelling_id == dwelling_id,
            Flag.rule == RuleCode.MOVED_AWAY_UNCHECKED,
            Flag.state.in_(("open", "in_review", "confirmed")),
        )
    )


def test_a_tampered_confirmation_attaches_nobody(worker, demo_db, cipher):
    theirs = current_stay_in_cell(demo_db, 2)
    number = cipher.decrypt(bytes(theirs.person.document_ciphertext))
    target = dwelling_of_cell(demo_db, 1)
    asked = post_form(
        worker, f"/cells/dwellings/{target.id}/move-in", move_in_form(number, theirs.person.name)
    )
    fields = confirmation_form(asked.get_data(as_text=True))
    fields["confirmation"] = fields["confirmation"][:-2] + "xx"
    response = worker.post(f"/cells/dwellings/{target.id}/move-in", data=fields)
    assert response.status_code == 422
    demo_db.expire_all()
    assert theirs.moved_out is None
    assert demo_db.scalar(select(Person.id).where(Person.id == theirs.person_id)) is not None
