"""Cross-cutting web behaviour: error pages, language switch, paging, escaping of labels."""

import pytest
from helpers import log_in

from registry.address.services import _part
from registry.validators import FieldError


def test_unknown_page_and_wrong_method_are_explained_in_chinese(demo_app):
    client = log_in(demo_app, "grid0001", lang=None)
    missing = client.get("/cells/no-such-page")
    assert missing.status_code == 404
    assert "该页面或记录不存在" in missing.get_data(as_text=True)
    wrong = client.get("/logout")
    assert wrong.status_code == 405
    assert "不允许的操作" in wrong.get_data(as_text=True)


def test_expired_form_says_so_instead_of_a_bare_csrf_error(demo_app):
    client = log_in(demo_app, "grid0001", lang=None)
    response = client.post("/cells/addresses/new", data={"csrf_token": "stale"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "表单已过期" in body and "CSRF" not in body


def test_login_prompt_is_translated(demo_app):
    client = demo_app.test_client()
    page = client.get("/cells/", follow_redirects=True).get_data(as_text=True)
    assert "请先登录" in page


def test_language_switch_keeps_the_page_and_its_query(demo_app):
    client = log_in(demo_app, "grid0001", lang=None)
    page = client.get("/cells/?cell=1&show=attention").get_data(as_text=True)
    assert 'href="/cells/?cell=1&amp;show=attention&amp;lang=en"' in page


@pytest.mark.parametrize("url", ["/cells/?page=99999999999999999999", "/cells/?page=-3"])
def test_absurd_page_numbers_do_not_break_the_list(demo_app, url):
    client = log_in(demo_app, "grid0001")
    assert client.get(url).status_code == 200


def test_officer_look_up_keeps_id_numbers_out_of_the_url(demo_app):
    client = log_in(demo_app, "officer1")
    page = client.get("/dashboard/lookup?q=11010519491231002X").get_data(as_text=True)
    assert '<form method="post"' in page
    assert "/dashboard/people/" not in page  # a GET never searches


@pytest.mark.parametrize("typed", ["<img/src='x'", "17号<b>", '3栋"onerror=1'])
def test_address_parts_with_markup_are_refused(typed):
    with pytest.raises(FieldError):
        _part(typed, "door_number")


@pytest.mark.parametrize(("typed", "kept"), [("17-1", "17-1"), ("附3", "附3"), ("A座", "A座")])
def test_address_parts_as_painted_on_walls_are_kept(typed, kept):
    assert _part(typed, "building") == kept


def test_chinese_is_the_default_whatever_the_browser_asks(demo_app):
    client = demo_app.test_client()
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in page.get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in english
    assert "Log in" in client.get("/login").get_data(as_text=True)  # the choice is kept
