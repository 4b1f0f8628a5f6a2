"""Business time by interval arithmetic equals a minute-by-minute count, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.domain.calendar import BusinessCalendar
from accord.spec.model import Calendar, Holidays

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham",
         "America/Santiago"]  # fmt: skip
TRANSITIONS = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 29), date(2026, 10, 25), date(2026, 4, 5),
               date(2026, 9, 6), date(2026, 6, 15)]  # fmt: skip


def brute_open(cal: BusinessCalendar, ts: int) -> bool:
    local = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(cal.zone_name))
    if local.date() in cal.days_off:
        return False
    minute = local.hour * 60 + local.minute
    return any(s <= minute < e for s, e in cal.weekly[local.weekday()])


def brute_between(cal: BusinessCalendar, a: int, b: int) -> int:
    return sum(60 for m in range(a, b, 60) if brute_open(cal, m))


def brute_add(cal: BusinessCalendar, start: int, seconds: int) -> int:
    t, left = start, seconds
    while True:
        if brute_open(cal, t):
            left -= 60
            if left <= 0:
                return t + 60 + left
        t += 60


@st.composite
def weekly_hours(draw: st.DrawFn) -> tuple[tuple[tuple[int, int], ...], ...]:
    days = []
    for _ in range(7):
        cuts = sorted(draw(st.lists(st.integers(0, 24 * 60), min_size=0, max_size=6, unique=True)))
        if len(cuts) % 2:
            cuts = cuts[:-1]
        days.append(tuple((cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)))
    if not any(days):
        days[0] = ((9 * 60, 17 * 60),)
    return tuple(days)


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, int]:
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(TRANSITIONS))
    off = frozenset(base + timedelta(days=d) for d in draw(st.lists(st.integers(-3, 6), max_size=3)))
    cal = BusinessCalendar(zone, draw(weekly_hours()), off)
    start_day = datetime(base.year, base.month, base.day, tzinfo=UTC) - timedelta(days=2)
    start = int(start_day.timestamp()) + 60 * draw(st.integers(0, 4 * 24 * 60))
    return cal, start


@settings(max_examples=120, deadline=None)
@given(calendars(), st.integers(0, 3 * 24 * 60))
def test_between_equals_counting_minutes(case: tuple[BusinessCalendar, int], minutes: int) -> None:
    cal, start = case
    end = start + 60 * minutes
    assert cal.between(start, end) == brute_between(cal, start, end)
    assert cal.between(end, start) == -cal.between(start, end)


@settings(max_examples=120, deadline=None)
@given(calendars(), st.integers(1, 20 * 60))
def test_add_equals_counting_minutes(case: tuple[BusinessCalendar, int], minutes: int) -> None:
    cal, start = case
    deadline = cal.add(start, 60 * minutes)
    assert deadline == brute_add(cal, start, 60 * minutes)
    assert cal.between(start, deadline) == 60 * minutes


def ny(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("America/New_York")).timestamp())


def test_starter_calendar_with_lunch_and_holidays(starter_spec: object) -> None:
    from accord.spec.model import Spec

    assert isinstance(starter_spec, Spec)
    cal = BusinessCalendar.from_spec(starter_spec.calendars["us_east"], years=[2026, 2027])
    # Friday 16:45 + 1 business hour: 45 minutes on Friday, 15 on Monday morning
    assert cal.add(ny(2026, 11, 20, 16, 45), 3600) == ny(2026, 11, 23, 9, 15)
    # 11:30 + 1h: 30 minutes before lunch, 30 after
    assert cal.add(ny(2026, 11, 23, 11, 30), 3600) == ny(2026, 11, 23, 13, 30)
    # Thanksgiving (26 Nov 2026) is a public holiday; Christmas Eve a company day off
    assert cal.add(ny(2026, 11, 25, 17, 0), 3600) == ny(2026, 11, 27, 9, 30)
    assert cal.between(ny(2026, 12, 24, 0, 0), ny(2026, 12, 25, 0, 0)) == 0
    # a full week: 5 days of 3 h + 4.5 h; the week before loses Veterans Day (11 November)
    assert cal.between(ny(2026, 11, 16, 0, 0), ny(2026, 11, 23, 0, 0)) == 5 * int(7.5 * 3600)
    assert cal.between(ny(2026, 11, 9, 0, 0), ny(2026, 11, 16, 0, 0)) == 4 * int(7.5 * 3600)


def test_hours_lost_and_gained_at_dst_count_as_they_happen() -> None:
    night = Calendar(timezone="America/New_York", hours={"sun": ["00:00-04:00"]})
    cal = BusinessCalendar.from_spec(night)
    # spring forward: 02:00-03:00 does not exist on 8 March 2026 -> 3 hours worked
    assert cal.between(ny(2026, 3, 8, 0, 0), ny(2026, 3, 8, 5, 0)) == 3 * 3600
    # fall back: 01:00-02:00 happens twice on 1 November 2026 -> 5 hours worked
    assert cal.between(ny(2026, 11, 1, 0, 0), ny(2026, 11, 1, 6, 0)) == 5 * 3600


def test_holidays_from_the_package_and_custom_dates() -> None:
    spec_cal = Calendar(
        timezone="Europe/London",
        hours={"mon-fri": ["09:00-17:00"]},
        holidays=Holidays(country="GB", subdivision="ENG", custom=[date(2026, 8, 28)]),
    )
    cal = BusinessCalendar.from_spec(spec_cal, years=[2026])
    assert date(2026, 8, 31) in cal.days_off  # summer bank holiday
    assert date(2026, 8, 28) in cal.days_off  # company day
    london = ZoneInfo("Europe/London")
    start = int(datetime(2026, 8, 27, 16, 0, tzinfo=london).timestamp())
    assert cal.add(start, 2 * 3600) == int(datetime(2026, 9, 1, 10, 0, tzinfo=london).timestamp())


def test_a_calendar_without_hours_is_refused() -> None:
    cal = BusinessCalendar("UTC", ((),) * 7)
    with pytest.raises(ValueError, match="no working hours"):
        cal.add(0, 60)
