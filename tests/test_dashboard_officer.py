"""A police officer's day at the desk, through the real app on the demo district.

Look-ups by name, phone, ID number (blind index) and address; the person page with a
masked number and an audited reveal that demands a reason; the dwelling page; the audit
trail; and the scope: records of another station and other roles get 404. Users log in
with ``lang=None``: the pages keep their default language (Chinese) unless a test asks.
"""

from __future__ import annotations

import re

import pytest
from helpers import DEMO_TODAY, add_second_police_station, audit_entries, csrf_token_from, log_in
from sqlalchemy import text

from registry.dwelling.status import current_rule, legal_capacity
from registry.person.identity import mask_document_number


@pytest.fixture
def officer(demo_app):
    return log_in(demo_app, "officer1", lang=None)


@pytest.fixture
def resident(demo_db, cipher):
    """A demo person with a phone and a resident ID who lives in a demo dwelling today."""
    row = demo_db.execute(
        text("""
        SELECT p.id, p.name, p.phone, p.document_ciphertext, r.dwelling_id
          FROM person p JOIN residence r ON r.person_id = p.id
         WHERE p.phone IS NOT NULL AND p.document_type = 'resident_id'
           AND r.moved_in <= :d AND (r.moved_out IS NULL OR r.moved_out > :d)
         ORDER BY p.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    ).one()
    number = cipher.decrypt(bytes(row.document_ciphertext))
    return {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "number": number,
        "dwelling": row.dwelling_id,
    }


# -- the day's journey ---------------------------------------------------------------------


def test_officer_lands_on_the_dashboard_and_the_menu_has_flags_and_sweeps(officer):
    landing = officer.get("/", follow_redirects=True)
    assert landing.request.path == "/dashboard/"
    html = officer.get("/dashboard/?lang=en").get_data(as_text=True)
    assert 'href="/flags/"' in html and "Flags (coming)" not in html
    assert 'href="/sweeps/"' in html and "Sweeps (coming)" not in html
    assert 'href="/dashboard/lookup"' in html


def lookup(client, query: dict):
    """Submit the look-up form as a browser does (POST with its CSRF token)."""
    query = dict(query)
    language = query.pop("lang", None)
    url = "/dashboard/lookup" + (f"?lang={language}" if language else "")
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={**query, "csrf_token": token}, follow_redirects=True)


def test_look_up_by_name_finds_the_person_with_a_masked_number(officer, resident):
    html = lookup(officer, {"q": resident["name"]}).get_data(as_text=True)
    assert re.search(f'href="/dashboard/people/{resident["id"]}[?"]', html)
    assert mask_document_number(resident["number"]) in html
    assert resident["number"] not in html


def test_look_up_by_whole_or_partial_phone(officer, resident):
    html = lookup(officer, {"q": resident["phone"]}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    spaced = f"{resident['phone'][:3]} {resident['phone'][3:7]} {resident['phone'][7:]}"
    html = lookup(officer, {"q": spaced}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    html = lookup(officer, {"q": resident["phone"][-6:]}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    short = lookup(officer, {"q": "12", "lang": "en"})
    assert short.status_code == 422
    assert "at least 4 digits" in short.get_data(as_text=True)


def test_look_up_by_id_number_uses_the_blind_index(officer, resident, monkeypatch):
    from registry.person.identity import IdentityCipher as Cipher

    def no_decrypting_scan(self, blob):  # a search must never decrypt to compare
        raise AssertionError("decrypted during a search")

    number = resident["number"]
    lowercase = number[:-1] + number[-1].lower()
    with monkeypatch.context() as patch:
        patch.setattr(Cipher, "decrypt", no_decrypting_scan)
        patch.setattr("registry.dashboard.services.masked_document", lambda cipher, p: "masked")
        response = lookup(
            officer,
            {"kind": "document", "document_type": "resident_id", "q": lowercase},
        )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    assert len(re.findall(r'href="/dashboard/people/\d+[?"]', html)) == 1
    assert number not in response.request.url


def test_an_id_number_typed_in_the_name_box_is_searched_exactly(officer, resident):
    html = lookup(officer, {"q": resident["number"]}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    assert len(re.findall(r'href="/dashboard/people/\d+[?"]', html)) == 1


def test_look_up_by_a_malformed_id_number_says_why_without_echoing_it(officer):
    typed = "420106196001011239"  # wrong check digit
    response = lookup(
        officer, {"kind": "document", "document_type": "resident_id", "q": typed, "lang": "en"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Check digit is wrong" in html
    assert 'class="field grow has-error"' in html
    assert typed not in html and typed[:14] not in html


def test_a_found_id_number_is_not_echoed_in_the_search_box(officer, resident):
    html = lookup(officer, {"q": resident["number"], "lang": "en"}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{resident["id"]}[?"]', html)
    assert resident["number"] not in html
    # Only masked, on the person's row: the kept results hold ids, never the query.
    assert mask_document_number(resident["number"]) in html


def test_a_full_width_id_number_with_x_is_searched_exactly(officer, demo_db, cipher):
    rows = demo_db.execute(
        text("""SELECT p.id, p.document_ciphertext FROM person p
                 JOIN residence r ON r.person_id = p.id
                WHERE p.document_type = 'resident_id' ORDER BY p.id LIMIT 200""")
    ).all()
    holder = next(
        (row.id, number)
        for row in rows
        if (number := cipher.decrypt(bytes(row.document_ciphertext))).endswith("X")
    )
    person_id, number = holder
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    html = lookup(officer, {"q": full_width}).get_data(as_text=True)
    assert re.search(f'/dashboard/people/{person_id}[?"]', html)
    assert len(re.findall(r'href="/dashboard/people/\d+[?"]', html)) == 1


def test_a_door_number_in_the_name_box_is_not_taken_for_a_phone(officer):
    response = lookup(officer, {"q": "26-1-601", "lang": "en"})
    assert response.status_code == 422
    assert "looks like a door number" in response.get_data(as_text=True)


def test_look_up_a_dwelling_by_address_text(officer, demo_db, resident):
    (full_text,) = demo_db.execute(
        text("""SELECT a.full_text FROM dwelling d JOIN address a ON a.id = d.address_id
                 WHERE d.id = :d"""),
        {"d": resident["dwelling"]},
    ).one()
    # Typed with spaces and full-width digits, as a Chinese IME may give it.
    typed = full_text[-8:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    typed = " ".join(typed)
    html = lookup(officer, {"kind": "dwelling", "q": typed}).get_data(as_text=True)
    assert re.search(f'href="/dashboard/dwellings/{resident["dwelling"]}[?"]', html)
    assert full_text in html


def test_person_page_is_masked_and_its_view_is_audited(officer, demo_db, resident):
    response = officer.get(f"/dashboard/people/{resident['id']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert mask_document_number(resident["number"]) in html
    assert resident["number"] not in html
    assert resident["phone"] in html
    assert re.search(f'href="/dashboard/dwellings/{resident["dwelling"]}[?"]', html)
    entries = audit_entries(demo_db, "person", resident["id"])
    assert [(e.username, e.action) for e in entries] == [("officer1", "view")]


def test_reveal_demands_a_reason_then_shows_the_number_once_and_audits_the_reason(
    officer, demo_db, resident
):
    url = f"/dashboard/people/{resident['id']}"
    token = csrf_token_from(officer.get(url).get_data(as_text=True))
    missing = officer.post(f"{url}/reveal?lang=en", data={"csrf_token": token, "reason": "  "})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert "Say why you need the full number" in html
    assert 'class="field has-error"' in html
    assert resident["number"] not in html
    too_short = officer.post(f"{url}/reveal", data={"csrf_token": token, "reason": "查"})
    assert too_short.status_code == 422
    assert "查</textarea>" in too_short.get_data(as_text=True)  # the input is kept
    assert not [e for e in audit_entries(demo_db, "person", resident["id"]) if e.action == "reveal"]
    # The refusals are logged although their requests roll back: that needs real commits,
    # see test_refused_reveals_are_logged_although_their_requests_roll_back.

    reason = "核查2026-118号案件线索"
    revealed = officer.post(f"{url}/reveal", data={"csrf_token": token, "reason": reason})
    assert revealed.status_code == 200
    assert resident["number"] in revealed.get_data(as_text=True)
    reveals = [e for e in audit_entries(demo_db, "person", resident["id"]) if e.action == "reveal"]
    assert [(e.username, e.reason) for e in reveals] == [("officer1", reason)]
    # Shown once: the page itself stays masked afterwards.
    assert resident["number"] not in officer.get(url).get_data(as_text=True)


def test_reveal_without_csrf_token_is_refused(officer, demo_db, resident):
    response = officer.post(
        f"/dashboard/people/{resident['id']}/reveal", data={"reason": "核查案件线索"}
    )
    assert response.status_code == 400
    assert not audit_entries(demo_db, "person", resident["id"])


def test_dwelling_page_shows_capacity_occupants_and_filings(officer, demo_db):
    dwelling_id, area, rooms = demo_db.execute(
        text("""SELECT d.id, d.floor_area, d.rooms FROM dwelling d
                 JOIN lease_filing f ON f.dwelling_id = d.id
                 WHERE f.status = 'filed' AND f.starts_on <= :d AND f.ends_on >= :d
                   AND EXISTS (SELECT 1 FROM residence r
                                WHERE r.dwelling_id = d.id AND r.moved_in <= :d
                                  AND (r.moved_out IS NULL OR r.moved_out > :d))
                 ORDER BY d.id LIMIT 1"""),
        {"d": DEMO_TODAY},
    ).one()
    residents = (
        demo_db.execute(
            text("""SELECT p.id FROM residence r JOIN person p ON p.id = r.person_id
                 WHERE r.dwelling_id = :i AND r.moved_in <= :d
                   AND (r.moved_out IS NULL OR r.moved_out > :d)"""),
            {"i": dwelling_id, "d": DEMO_TODAY},
        )
        .scalars()
        .all()
    )
    filings = (
        demo_db.execute(
            text("SELECT filing_number FROM lease_filing WHERE dwelling_id = :i"),
            {"i": dwelling_id},
        )
        .scalars()
        .all()
    )
    response = officer.get(f"/dashboard/dwellings/{dwelling_id}?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'id="occupants-now">{len(residents)}<', html)
    capacity = legal_capacity(area, rooms, current_rule(demo_db, DEMO_TODAY))
    assert re.search(rf'id="legal-capacity">{capacity}\b', html)
    for person_id in residents:
        assert re.search(f'href="/dashboard/people/{person_id}[?"]', html)
    for number in filings:
        assert number in html
    assert "Current" in html


def test_audit_trail_shows_who_did_what_with_numbers_masked(officer, demo_db, resident, demo_app):
    from registry.person.services import PersonInput, correct_person

    admin = demo_db.execute(
        text("SELECT id FROM user_account WHERE username = 'admin'")
    ).scalar_one()
    from registry.accounts.models import UserAccount

    actor = demo_db.get(UserAccount, admin)
    cipher = demo_app.extensions["registry.cipher"]
    person = demo_db.execute(
        text("SELECT version, name, phone, birth_date FROM person WHERE id = :i"),
        {"i": resident["id"]},
    ).one()
    correct_person(
        demo_db,
        actor,
        cipher,
        resident["id"],
        PersonInput(person.name, "resident_id", resident["number"], "13700001111", None),
        person.version,
        DEMO_TODAY,
    )
    demo_db.commit()
    url = f"/dashboard/people/{resident['id']}"
    token = csrf_token_from(officer.get(url).get_data(as_text=True))
    officer.post(f"{url}/reveal", data={"csrf_token": token, "reason": "核查案件线索"})

    response = officer.get(f"/dashboard/audit/person/{resident['id']}?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "13700001111" in html and "admin" in html and "核查案件线索" in html
    assert "Full ID number revealed" in html and "Changed" in html
    assert resident["number"] not in html
    # Reading a person's trail is itself a view of that person.
    assert audit_entries(demo_db, "person", resident["id"])[-1].action == "view"

    assert f'<span id="record-title">{resident["name"]}</span>' in html

    dwelling_trail = officer.get(f"/dashboard/audit/dwelling/{resident['dwelling']}")
    assert dwelling_trail.status_code == 200
    residence = demo_db.execute(
        text("SELECT min(id) FROM residence WHERE dwelling_id = :d"), {"d": resident["dwelling"]}
    ).scalar_one()
    assert officer.get(f"/dashboard/audit/residence/{residence}").status_code == 200


# -- scope ---------------------------------------------------------------------------------


def test_records_of_another_station_are_not_found_and_not_touched(officer, demo_db):
    ids = add_second_police_station(demo_db)
    for url in (
        f"/dashboard/people/{ids['person']}",
        f"/dashboard/dwellings/{ids['dwelling']}",
        f"/dashboard/audit/person/{ids['person']}",
        f"/dashboard/audit/dwelling/{ids['dwelling']}",
        f"/dashboard/audit/address/{ids['address']}",
        f"/dashboard/audit/lease/{ids['lease']}",
        f"/dashboard/audit/residence/{ids['residence']}",
        "/dashboard/people/99999999",
        "/dashboard/audit/unknown/1",
        "/dashboard/audit/person/abc",
    ):
        assert officer.get(url).status_code == 404, url
    token = csrf_token_from(officer.get("/dashboard/").get_data(as_text=True))  # log-out form
    response = officer.post(
        f"/dashboard/people/{ids['person']}/reveal",
        data={"csrf_token": token, "reason": "核查案件线索"},
    )
    assert response.status_code == 404
    for query in ({"q": "外所住户"}, {"q": "13900009999"}, {"kind": "dwelling", "q": "外所测试路"}):
        html = lookup(officer, query).get_data(as_text=True)
        assert not re.search(f'/dashboard/people/{ids["person"]}[?"]', html), query
        assert f'/dashboard/dwellings/{ids["dwelling"]}"' not in html, query
        assert '<span class="muted">(0)</span>' in html, query
    # Nothing was shown (the refused reveal's entry needs real commits: see
    # test_refused_reveals_are_logged_although_their_requests_roll_back).
    entries = audit_entries(demo_db, "person", ids["person"])
    assert [e.action for e in entries if e.action != "reveal_refused"] == []

    # The other station's officer sees their own records but not officer1's.
    other = log_in(officer.application, "officer99", lang=None)
    assert other.get(f"/dashboard/people/{ids['person']}").status_code == 200
    assert other.get(f"/dashboard/dwellings/{ids['dwelling']}").status_code == 200
    token = csrf_token_from(other.get("/dashboard/").get_data(as_text=True))
    no_number = other.post(
        f"/dashboard/people/{ids['person']}/reveal",
        data={"csrf_token": token, "reason": "核查案件线索"},
    )
    assert no_number.status_code == 404  # no number recorded: nothing to reveal
    demo_person = demo_db.execute(text("SELECT min(person_id) FROM residence")).scalar_one()
    assert other.get(f"/dashboard/people/{demo_person}").status_code == 404


@pytest.mark.parametrize("username", ["grid0001", "manager1", "landlord1"])
def test_other_roles_get_404_on_every_dashboard_url(demo_app, demo_db, resident, username):
    client = log_in(demo_app, username, lang=None)
    lease = demo_db.execute(text("SELECT min(id) FROM lease_filing")).scalar_one()
    for url in (
        "/dashboard/",
        "/dashboard/export.xlsx",
        "/dashboard/lookup",
        f"/dashboard/people/{resident['id']}",
        f"/dashboard/dwellings/{resident['dwelling']}",
        f"/dashboard/audit/person/{resident['id']}",
        f"/dashboard/audit/dwelling/{resident['dwelling']}",
        f"/dashboard/audit/lease/{lease}",
    ):
        assert client.get(url).status_code == 404, url
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/dashboard/people/{resident['id']}/reveal",
        data={"csrf_token": token, "reason": "核查案件线索"},
    )
    assert response.status_code == 404
    assert audit_entries(demo_db, "person", resident["id"]) == []


def test_anonymous_visitors_are_sent_to_log_in(demo_app):
    client = demo_app.test_client()
    for url in ("/dashboard/", "/dashboard/lookup", "/dashboard/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_people_shown_in_results_and_on_a_dwelling_are_logged_as_viewed(officer, resident, demo_db):
    lookup(officer, {"q": resident["name"]})
    officer.get(f"/dashboard/dwellings/{resident['dwelling']}")
    contexts = [
        entry.changes.get("context")
        for entry in audit_entries(demo_db, "person", resident["id"], action="view")
    ]
    assert "search" in contexts and "dwelling" in contexts


def test_refused_reveals_are_logged_although_their_requests_roll_back(
    committing_app, race_sessions
):
    """Each refusal (no reason, too short, out of scope) rolls its request back; its entry
    is written in a transaction of its own and stays. An unknown id logs nothing."""
    with race_sessions() as session:
        mine = session.execute(
            text("""
            SELECT p.id FROM person p JOIN residence r ON r.person_id = p.id
             WHERE p.document_type = 'resident_id'
               AND r.moved_in <= :d AND (r.moved_out IS NULL OR r.moved_out > :d)
             ORDER BY p.id LIMIT 1"""),
            {"d": DEMO_TODAY},
        ).scalar_one()
        elsewhere = add_second_police_station(session)["person"]
    officer = log_in(committing_app, "officer1")
    token = csrf_token_from(officer.get(f"/dashboard/people/{mine}").get_data(as_text=True))
    for person_id, reason, status in (
        (mine, "  ", 422),
        (mine, "查", 422),
        (elsewhere, "核查案件线索", 404),
        (987654321, "核查案件线索", 404),
    ):
        response = officer.post(
            f"/dashboard/people/{person_id}/reveal", data={"csrf_token": token, "reason": reason}
        )
        assert response.status_code == status
    with race_sessions() as session:
        refused = [
            (int(e.object_id), e.username, e.changes, e.reason)
            for e in audit_entries(session, "person", action="reveal_refused")
        ]
    assert refused == [
        (mine, "officer1", {"refused": "reason"}, None),
        (mine, "officer1", {"refused": "reason"}, "查"),
        (elsewhere, "officer1", {"refused": "scope"}, "核查案件线索"),
    ]
    trail = officer.get(f"/dashboard/audit/person/{mine}?lang=en").get_data(as_text=True)
    assert "Reveal of the full ID number refused" in trail and "No reason given" in trail


def test_dwelling_page_names_the_owner_logs_the_view_and_leads_back(officer, demo_db, cipher):
    dwelling_id, owner_id, owner_name, ciphertext, community, cell_id = demo_db.execute(
        text("""SELECT d.id, p.id, p.name, p.document_ciphertext, a.community_id, a.grid_cell_id
                  FROM dwelling d JOIN person p ON p.id = d.owner_person_id
                  JOIN address a ON a.id = d.address_id
                 WHERE a.grid_cell_id IS NOT NULL ORDER BY d.id LIMIT 1""")
    ).one()
    before = len(audit_entries(demo_db, "person", owner_id, "view"))
    html = officer.get(f"/dashboard/dwellings/{dwelling_id}?lang=en").get_data(as_text=True)
    owner = re.search(r'id="owner">(.*?)</dd>', html, re.S).group(1)
    assert f'href="/dashboard/people/{owner_id}">{owner_name}</a>' in owner
    number = cipher.decrypt(bytes(ciphertext))
    assert mask_document_number(number) in owner and number not in html
    views = audit_entries(demo_db, "person", owner_id, "view")
    assert len(views) == before + 1 and views[-1].changes == {"context": "owner"}
    # The way back: the jurisdiction, the community's and the cell's lines on it.
    trail = re.search(r'<nav class="breadcrumb".*?</nav>', html, re.S).group(0)
    assert 'href="/dashboard/"' in trail
    assert f'href="/dashboard/#community-{community}"' in trail
    assert f"#cell-{cell_id}" in trail


def test_dwelling_page_names_an_organisation_owner_by_its_credit_code(officer, demo_db):
    row = demo_db.execute(
        text("""SELECT d.id, o.name, o.credit_code FROM dwelling d
                  JOIN organisation o ON o.id = d.owner_organisation_id ORDER BY d.id LIMIT 1""")
    ).first()
    if row is None:  # the demo lets no dwelling to a unit: give one an organisation owner
        row = demo_db.execute(
            text("""UPDATE dwelling SET owner_person_id = NULL,
                        owner_organisation_id = (SELECT min(id) FROM organisation)
                     WHERE id = (SELECT min(id) FROM dwelling)
                 RETURNING id, (SELECT name FROM organisation ORDER BY id LIMIT 1),
                           (SELECT credit_code FROM organisation ORDER BY id LIMIT 1)""")
        ).one()
        demo_db.commit()
    html = officer.get(f"/dashboard/dwellings/{row[0]}?lang=en").get_data(as_text=True)
    owner = re.search(r'id="owner">(.*?)</dd>', html, re.S).group(1)
    assert row[1] in owner and row[2] in owner and "<a" not in owner


# -- Back works: results kept on the server, record pages lead back -------------------------


def test_a_person_look_up_redirects_to_kept_results_and_the_person_leads_back(officer, resident):
    token = csrf_token_from(officer.get("/dashboard/lookup").get_data(as_text=True))
    posted = officer.post("/dashboard/lookup", data={"q": resident["name"], "csrf_token": token})
    assert posted.status_code == 303  # Back never lands on "Confirm Form Resubmission"
    location = posted.headers["Location"]
    assert re.fullmatch(r"/dashboard/lookup/results/[A-Za-z0-9_-]{32}", location)
    results = officer.get(location)
    assert results.status_code == 200 and results.headers["Cache-Control"] == "no-store"
    link = re.search(
        rf'href="(/dashboard/people/{resident["id"]}\?results=[^"]+)"',
        results.get_data(as_text=True),
    )
    assert link
    person = officer.get(link.group(1)).get_data(as_text=True)
    assert f'href="{location}"' in person
    assert officer.get(location).status_code == 200  # Back, several times over


def test_a_dwelling_look_up_is_a_get_so_back_works(officer, demo_db, resident):
    full_text = demo_db.execute(
        text(
            "SELECT a.full_text FROM dwelling d JOIN address a ON a.id = d.address_id"
            " WHERE d.id = :d"
        ),
        {"d": resident["dwelling"]},
    ).scalar_one()
    token = csrf_token_from(officer.get("/dashboard/lookup").get_data(as_text=True))
    typed = full_text[-10:]
    posted = officer.post(
        "/dashboard/lookup", data={"kind": "dwelling", "q": typed, "csrf_token": token}
    )
    assert posted.status_code == 303
    assert posted.headers["Location"].startswith("/dashboard/lookup?kind=dwelling&q=")
    page = officer.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(rf'/dashboard/dwellings/{resident["dwelling"]}[?"]', page)
