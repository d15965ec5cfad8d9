"""A flag's page in the browser: a long reason wraps inside the history table, at tablet
and desktop width. Screenshots in screenshots/flag-history-*.png."""

from __future__ import annotations

import pytest
from browser import DESKTOP, TABLET, log_in, screenshot
from sqlalchemy import text

from registry.db import make_engine

# A reason typed without a break opportunity (pasted, say) and a Chinese one: both wrap.
LONG_REASONS = ("x" * 2000, "核查发现群租迹象，已通知房东整改。" * 110)

LAYOUT = """() => {
  const region = document.querySelector('#history').closest('.table-scroll');
  const card = region.closest('.card');
  const row = document.querySelector('#history tbody tr:last-child');
  const [when, who, step, why] = [...row.cells];
  const oneLine = (cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return lines.size;
  };
  return {
    overflow: region.scrollWidth - region.clientWidth,
    beyondCard: region.getBoundingClientRect().right - card.getBoundingClientRect().right,
    lines: [oneLine(when), oneLine(who), oneLine(step)],
    whyWidth: why.getBoundingClientRect().width,
    tableWidth: document.querySelector('#history').getBoundingClientRect().width,
  };
}"""


FIRST_OPEN_FLAG = text("SELECT id FROM flag WHERE state = 'open' ORDER BY id LIMIT 1")


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["768", "1280"])
def test_a_long_reason_wraps_in_the_flag_history(open_page, make_live_server, viewport):
    server, url = make_live_server()
    engine = make_engine(url)
    with engine.begin() as db:
        flag_id = db.execute(FIRST_OPEN_FLAG).scalar_one()
        officer = db.execute(
            text("SELECT id FROM user_account WHERE username = 'officer1'")
        ).scalar_one()
        for state, reason in zip(("in_review", "confirmed"), LONG_REASONS, strict=True):
            db.execute(
                text("""
                INSERT INTO flag_event (flag_id, kind, from_state, to_state, actor_id, reason,
                                        occurred_on)
                SELECT id, 'decided', state, :state, :officer, :reason, raised_on FROM flag
                WHERE id = :flag"""),
                {"flag": flag_id, "state": state, "officer": officer, "reason": reason},
            )
            db.execute(
                text(
                    "UPDATE flag SET state = :state, decided_by_id = :officer, "
                    "decision_reason = :reason, decided_at = now() WHERE id = :flag"
                ),
                {"flag": flag_id, "state": state, "officer": officer, "reason": reason},
            )
    engine.dispose()

    page = open_page(viewport=viewport, server=server)
    log_in(page, server, "officer1")
    page.goto(f"{server.url}/flags/{flag_id}")
    layout = page.evaluate(LAYOUT)
    page.locator("#history").evaluate("(table) => table.closest('.card').scrollIntoView()")
    screenshot(page, f"flag-history-{viewport['width']}")
    assert layout["overflow"] <= 1 and layout["beyondCard"] <= 1, layout
    assert layout["lines"] == [1, 1, 1], layout  # no column squeezed to a character a line
    assert layout["whyWidth"] >= layout["tableWidth"] / 3, layout
    history = page.locator("#history").inner_text()
    assert "已处理" not in history  # the Step column tells the step; the reason is the why


def test_two_tabs_take_up_the_same_flag(open_page, make_live_server):
    """Both tabs press 开始核查: the second sees who took it up, keeps its reason, and can
    go on from the flag as it is now."""
    server, url = make_live_server()
    engine = make_engine(url)
    with engine.connect() as db:
        flag_id = db.execute(FIRST_OPEN_FLAG).scalar_one()
    engine.dispose()
    first = open_page(viewport=TABLET, server=server)
    log_in(first, server, "officer1")
    second = first.context.new_page()
    for page in (first, second):
        page.goto(f"{server.url}/flags/{flag_id}")
    first.fill("textarea[name=reason]", "约房东周三上门")
    with first.expect_navigation():
        first.click("button[value=in_review]")
    second.fill("textarea[name=reason]", "我也来核查")
    with second.expect_navigation():
        second.click("button[value=in_review]")
    notice = second.locator("#moved-on").inner_text()
    assert "约房东周三上门" in notice and "您的操作未保存" in notice
    assert second.locator("textarea[name=reason]").input_value() == "我也来核查"
    assert second.locator("button[name=state]").all_inner_texts() == ["确认", "排除"]
    screenshot(second, "flag-decided-meanwhile-768")


def test_the_recent_case_rule_page(open_page, live_server):
    page = open_page(viewport=TABLET)
    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/rules/recent_case")
    boxes = page.locator("input[name=case_rules]")
    assert boxes.count() == 11
    ticked = [box.get_attribute("value") for box in boxes.all() if box.is_checked()]
    assert ticked == ["over_capacity", "visit_unregistered", "visit_group_renting", "tip"]
    page.locator("#case_rules").scroll_into_view_if_needed()
    screenshot(page, "recent-case-rule-768")
