"""Translated messages are text: a user's value interpolated into one arrives escaped.

Flask-Babel's lazy strings claim to be safe HTML; registry/i18n.py makes them escape
themselves. The hostile names go through every error message that interpolates user data.
"""

from __future__ import annotations

import json
import re

import pytest
from flask import flash, jsonify, render_template_string
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from helpers import csrf_token_from, log_in, token_of
from markupsafe import Markup, escape
from shapely.geometry import mapping
from sqlalchemy import select, text, update

from registry.area.models import Community
from registry.grid.models import GridCell
from registry.person.models import Person

HOSTILE = '"><svg onload=alert(2)>'
ESCAPED = "&#34;&gt;&lt;svg onload=alert(2)&gt;"


def _hostile_message():
    return _l(
        "The shape overlaps grid cell %(name)s (%(code)s) by %(area)s m²; the option "
        "to cut it can trim the overlap away",
        name=HOSTILE,
        code="c",
        area="1",
    )


def test_a_lazy_message_escapes_what_it_interpolates_wherever_it_is_shown(demo_app):
    with demo_app.test_request_context("/?lang=en"):
        message = _hostile_message()
        assert HOSTILE not in render_template_string("{{ m }}", m=message)
        assert ESCAPED in render_template_string("{{ m }}", m=message)
        assert ESCAPED in escape(message)
        assert ESCAPED in Markup("<p>%s</p>") % message
        assert ESCAPED in Markup(message)


def test_text_uses_of_a_lazy_message_are_not_escaped_twice(demo_app):
    with demo_app.test_request_context("/?lang=en"):
        message = _hostile_message()
        assert HOSTILE in str(message)
        assert json.loads(jsonify(detail=str(message)).get_data())["detail"] == str(message)
        flash(str(message), "error")
        shown = render_template_string("{% for m in get_flashed_messages() %}{{ m }}{% endfor %}")
        assert ESCAPED in shown and "&amp;" not in shown


def test_a_message_with_no_markup_still_reads_as_written(demo_app):
    """Its own characters (&, <, quotes) show as text, escaped once."""
    with demo_app.test_request_context("/?lang=en"):
        shown = render_template_string(
            "{{ m }}", m=_l("At most %(maximum)s characters", maximum="<5 & 'x'")
        )
    assert shown == "At most &lt;5 &amp; &#39;x&#39; characters"


# -- every message that interpolates user data, through the real pages ------------------


def _shape_errors(html: str) -> list[str]:
    """The messages shown under the cell form's shape (as HTML source, still escaped)."""
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)


def _cell_upload(admin_client, cell: GridCell, shape) -> str:
    url = f"/admin/cells/new?community={cell.community_id}"
    response = admin_client.post(
        url,
        data={
            "csrf_token": token_of(admin_client, url),
            "code": "420199001001903",
            "name": "试验网格",
            "community_id": str(cell.community_id),
            "drawn_geometry": json.dumps(mapping(shape)),
        },
    )
    assert response.status_code == 422
    return response.get_data(as_text=True)


def test_a_hostile_cell_name_in_the_overlap_message_is_escaped(admin_client, demo_db):
    cell = demo_db.scalars(select(GridCell).order_by(GridCell.id)).all()[1]
    cell.name = HOSTILE
    demo_db.commit()
    inside = to_shape(cell.geom).representative_point().buffer(0.0003, quad_segs=2)
    html = _cell_upload(admin_client, cell, inside)
    assert HOSTILE not in html
    assert f"overlaps grid cell {ESCAPED}" in _shape_errors(html)[0]


def test_a_hostile_community_name_in_the_outside_message_is_escaped(admin_client, demo_db):
    cell = demo_db.scalars(select(GridCell).order_by(GridCell.id)).first()
    demo_db.execute(update(Community).where(Community.id == cell.community_id).values(name=HOSTILE))
    demo_db.commit()
    beyond = to_shape(demo_db.get(Community, cell.community_id).geom).envelope.buffer(0.01)
    html = _cell_upload(admin_client, cell, beyond)
    assert HOSTILE not in html
    assert f"beyond the community {ESCAPED}" in _shape_errors(html)[0]


def test_a_hostile_signer_name_in_the_already_signed_message_is_escaped(demo_app, demo_db):
    filing_id, person_id = demo_db.execute(
        text("""
        SELECT l.id, l.landlord_person_id FROM lease_filing l
          JOIN rental_pledge p ON p.lease_filing_id = l.id
                              AND p.signer_person_id = l.landlord_person_id
          JOIN dwelling d ON d.id = l.dwelling_id JOIN address a ON a.id = d.address_id
          JOIN grid_cell_worker w ON w.grid_cell_id = a.grid_cell_id
          JOIN user_account u ON u.id = w.user_id
         WHERE u.username = 'grid0001' AND l.status = 'filed'
           AND p.pledge_document_id = (SELECT max(id) FROM pledge_document
                                        WHERE kind = 'rental_pledge')
         ORDER BY l.id LIMIT 1""")
    ).one()
    demo_db.execute(update(Person).where(Person.id == person_id).values(name=HOSTILE))
    demo_db.commit()
    worker = log_in(demo_app, "grid0001")
    url = f"/leases/filings/{filing_id}/pledges/rental_pledge/sign"
    page = worker.get(url).get_data(as_text=True)
    response = worker.post(
        url,
        data={
            "csrf_token": csrf_token_from(page),
            "signer": "landlord",
            "confirm": "y",
            "signature": "data:image/png;base64,",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert HOSTILE not in html
    assert f"{ESCAPED} has already signed" in html


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_admin_pages_field_messages_are_escaped_in_both_languages(admin_client, demo_db, lang):
    cell = demo_db.scalars(select(GridCell).order_by(GridCell.id)).all()[1]
    cell.name = HOSTILE
    demo_db.commit()
    admin_client.get(f"/admin/cells?lang={lang}")
    inside = to_shape(cell.geom).representative_point().buffer(0.0003, quad_segs=2)
    html = _cell_upload(admin_client, cell, inside)
    assert HOSTILE not in html and ESCAPED in html
