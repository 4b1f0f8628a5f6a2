"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against `accord serve`.

A person signs in with the form, visits every page, rejects a lead from the queue and sees the queue
and the scorecard change; another signs in with the `--demo-login` style link and only reads. No page
may log a console error. A full-page screenshot of every page goes to test-artifacts/screenshots/ (and
a PDF of the dashboard as printed), so a change to the look can be reviewed by eye.

Playwright cannot download browsers here, so it launches /usr/bin/chromium. Without Chromium or
Playwright the test is skipped locally and fails in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accord import service
from accord.reports.base import fmt
from tests.api_server import Server
from tests.test_dashboard import AS_OF, copy_demo, make_keys, pristine_demo

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


def _playwright() -> Any:
    """The sync Playwright API, or a skip (a failure in CI) when it or Chromium is missing."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem is None and not CHROMIUM.exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`accord serve` on a copy of the demo, the clock frozen at the demo's instant, no background tick."""
    _playwright()
    root = copy_demo(tmp_path_factory.mktemp("browser") / "ws")
    keys = make_keys(root)
    running = Server(root, env={"ACCORD_NOW": AS_OF.isoformat()}).start()
    try:
        yield running.base, keys, root
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page whose console errors and uncaught exceptions are collected, for asserting there are none."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None,
        )

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return path


def test_a_rep_works_the_queue_in_a_browser(server: tuple[str, dict[str, str], Path], browser: Any) -> None:
    base, keys, _root = server
    expected = service.sla(service.locate(pristine_demo()), now=AS_OF).acceptance
    before = fmt(expected["rate"], "share")
    after = fmt(expected["accepted"] / (expected["accepted"] + expected["rejected"] + 1), "share")
    for old in SHOTS.glob("*") if SHOTS.is_dir() else []:  # this test's own: others may be writing theirs
        if not old.name.startswith("governance-"):
            old.unlink()
    w = Watched(browser, viewport={"width": 1320, "height": 900})
    page = w.page
    page.goto(base + "/")  # signed out: sent to the form
    page.wait_for_url("**/login?next=*")
    w.shot("01-login")
    page.fill("#key", keys["rep"])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert page.locator("h1").inner_text() == "Revenue dashboard"
    assert before in page.locator(".kpi").first.inner_text()
    w.shot("02-dashboard")

    visits = [
        ("03-queue", "/queue", "Your queue"),
        ("04-lead", "/leads/con-000056", "Aisha Garcia"),
        ("05-pipeline", "/pipeline", "Pipeline review"),
        ("06-content", "/content", "Content"),
        ("07-campaigns", "/campaigns", "Campaign scorecards"),
        ("08-diagnostic", "/diagnostic", "Alignment diagnostic"),
        ("09-reports", "/reports", "Reports"),
        ("10-report-funnel", "/reports/funnel", "Funnel"),
        ("11-report-agreement", "/reports/agreement", "Service-level agreement"),
        ("12-report-plan", "/reports/plan", "Revenue plan"),
    ]
    for name, path, heading in visits:
        started = time.perf_counter()
        page.goto(base + path)
        assert time.perf_counter() - started < 5
        assert heading in page.locator("h1").inner_text(), path
        w.shot(name)

    # the nav carries the filters from page to page
    page.goto(base + "/?segment=mid_market")
    page.click("nav >> text=Pipeline")
    page.wait_for_url("**/pipeline?segment=mid_market")
    assert page.locator("#f-segment").input_value() == "mid_market"

    # the diagnostic form scores the answers
    page.goto(base + "/diagnostic")
    for n in range(1, 11):
        page.check(f"input[name=q{n}][value='2']")
    page.click("text=Score the answers")
    assert "20 / 20" in page.locator("#score").inner_text()
    w.shot("13-diagnostic-scored")

    # reject from the queue: the lead leaves it, the flash says so, the scorecard moves
    page.goto(base + "/queue")
    lead = page.locator("li[data-contact='con-000056']")
    lead.locator("select[name=reason]").select_option("bad_fit")
    lead.locator("button[data-action=reject]").click()
    page.wait_for_url(base + "/queue")
    assert "Rejected con-000056" in page.locator(".flash.ok").inner_text()
    assert page.locator("li[data-contact='con-000056']").count() == 0
    w.shot("14-queue-after-reject")
    page.click("nav >> text=Dashboard")
    assert after in page.locator(".kpi").first.inner_text()
    assert after in page.locator("#scorecard").inner_text()
    w.shot("15-dashboard-after-reject")

    # printable: the dashboard as a PDF, controls left out
    page.emulate_media(media="print")
    assert page.locator(".filters form").is_hidden()
    page.pdf(path=str(SHOTS / "dashboard-print.pdf"), format="A4", print_background=True)
    page.emulate_media(media="screen")
    assert w.errors == []
    w.context.close()


def test_a_viewer_signs_in_by_link_and_only_reads(
    server: tuple[str, dict[str, str], Path], browser: Any
) -> None:
    base, keys, _root = server
    w = Watched(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = w.page
    page.goto(f"{base}/login?key={keys['viewer']}")
    page.wait_for_url(base + "/")
    w.shot("20-mobile-dashboard")
    page.goto(base + "/queue/sam")
    assert page.locator("[data-action]").count() == 0
    assert "reads only" in page.locator(".queue").inner_text()
    w.shot("21-mobile-queue-read-only")
    page.goto(base + "/logout")
    page.wait_for_url("**/login?signed_out=1")
    page.goto(base + "/pipeline")
    page.wait_for_url("**/login?next=*")
    assert w.errors == []
    w.context.close()


LABEL_BOXES = """() => [...document.querySelectorAll('#sla svg.chart-speed text.t-strong')]
  .map(t => { const r = t.getBoundingClientRect();
              return [t.textContent, r.left, r.right, r.top, r.bottom]; })"""


def test_the_layout_keeps_text_readable_at_both_widths(
    server: tuple[str, dict[str, str], Path], browser: Any
) -> None:
    """Charts keep their text at reading size on a phone (scrolling in their card), a rep sees a
    driver's points, the speed-to-lead labels never overlap, and the navigation shows every section:
    one line on a desktop (a long role badge does not push it onto a second), two on a phone."""
    base, keys, _root = server
    for width, role in ((390, "rep"), (1280, "sales_manager")):
        w = Watched(browser, viewport={"width": width, "height": 900})
        page = w.page
        page.goto(f"{base}/login?key={keys[role]}")
        page.wait_for_url(base + "/")
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('.nav a')].map(a => {"
            " const r = a.getBoundingClientRect(); return [r.top, r.right]; })"
        )
        rows = {round(top) for top, _ in boxes}
        assert len(rows) == (1 if width > 640 else 2), (width, boxes)  # a phone once hid half in a strip
        assert max(right for _, right in boxes) <= width, (width, boxes)  # every section in sight
        labels = page.evaluate(LABEL_BOXES)
        assert len(labels) == 2, labels
        (_, l1, r1, t1, b1), (_, l2, r2, t2, b2) = labels
        assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1, (width, labels)
        for path in ("/", "/campaigns", "/leads/con-000056"):
            page.goto(base + path)
            smallest = page.evaluate(
                "() => Math.min(...[...document.querySelectorAll('svg.chart text')]"
                ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))"
            )
            assert smallest >= 11, (width, path, smallest)  # 13px text, not shrunk to a few pixels
        spill = page.evaluate(  # on the lead page: each label of the score's bar stays inside its part
            "() => [...document.querySelectorAll('svg.chart-composition text')].map(t => {"
            " const r = t.getBoundingClientRect(), s = t.previousElementSibling.getBoundingClientRect();"
            " return [t.textContent, r.left - s.left, s.right - r.right]; })"
        )
        assert spill and all(left >= 0 and right >= 0 for _, left, right in spill), (width, spill)
        points = page.locator("#drivers + .table-wrap th", has_text="Points").bounding_box()
        assert points is not None and points["x"] + points["width"] <= width, (width, points)
        assert w.errors == []
        w.context.close()
