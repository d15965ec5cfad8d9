"""``registry bench pdf``: the printed sweep list of N stops, laid out and written by
WeasyPrint as the export does, with wall and CPU time apart (a busy machine stretches the
wall time, much less the process's CPU time), pages, bytes and the fonts embedded.

The rows are made up (addresses, checks, two occupants with masked ID numbers, a visit on
every third stop), so it needs no database; the page is the real template.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace

from registry.sweeps import export
from registry.sweeps.models import Outcome
from registry.sweeps.services import Occupant

TARGET_SECONDS = 1.6  # what the issue measured for 300 rows on a quiet machine


def _rows(count: int) -> list:
    rows = []
    for i in range(count):
        visit = None
        if i % 3 == 0:
            visit = SimpleNamespace(
                outcome=Outcome.UNREGISTERED_OCCUPANTS, people=2, note="门口鞋很多，两人自称亲戚"
            )
        checks = [("出租但无现行备案", "备案已于 2026-10-01 到期，仍有 3 人居住")]
        if i % 2:
            checks.append(("随机抽查", "核对登记与实际居住情况是否一致。"))
        rows.append(
            SimpleNamespace(
                day=i // 40 + 1,
                stop=SimpleNamespace(position=i % 40 + 1),
                address=SimpleNamespace(
                    full_text=f"示范区晨辉街道林泉社区平桃路{i}号{i % 30}栋1单元{100 + i % 9}室"
                ),
                checks=checks,
                occupants=[
                    Occupant(f"王{i}秋", "420116********3431"),
                    Occupant("李秋红", "430602********4801"),
                ],
                visit=visit,
            )
        )
    return rows


def _name(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def run_pdf_benchmark(app, count: int, runs: int, echo: Callable[[str], None]) -> None:
    from weasyprint import HTML

    sweep = SimpleNamespace(week_start=date(2026, 11, 23), team=SimpleNamespace(name="一号专班"))
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        html = export.sweep_print_html(
            sweep, "清查名单 2026-W48", _rows(count), today=date(2026, 11, 25)
        )
    for run in range(1, runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        document = HTML(string=html).render()
        laid_wall, laid_cpu = time.perf_counter() - wall, time.process_time() - cpu
        pdf = document.write_pdf()
        total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
        echo(
            f"run {run}: {count} rows, wall {total_wall:.2f} s (layout {laid_wall:.2f}, "
            f"write {total_wall - laid_wall:.2f}), CPU {total_cpu:.2f} s (layout "
            f"{laid_cpu:.2f}, write {total_cpu - laid_cpu:.2f}); target {TARGET_SECONDS} s"
        )
    fonts = sorted(_name(font.name) for font in document.fonts.values())
    echo(f"pages {len(document.pages)}, bytes {len(pdf):,}, fonts embedded {fonts}")
