"""Charts as inline SVG, generated here in Python: no chart library, no script, nothing fetched.

Each function takes plain numbers and labels and returns markup ready for a template. Colours come
from CSS classes (``fill-1`` ... ``fill-6``, ``fill-ok``...) so one stylesheet themes the screen and
the printout, and every chart carries a ``<title>``/``<desc>`` and visible text labels: a value is
never told by colour or length alone. Pages print the numbers beside each chart as well, so a chart
is a way to see the table, never the only way to read it.

Widths are in viewBox units; the SVG scales to its container. The building blocks (text, boxes,
legends, label widths) are in accord.web.svg.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from accord.web.svg import BOLD_CHAR, CHAR, clip, figure, ident, label_width, legend, num, rect, text_at


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


# ---- funnel --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    """One stage of the funnel; ``rate``, ``ci`` and ``days`` describe the move to the next stage."""

    label: str
    count: int
    rate: float | None = None
    ci: tuple[float | None, float | None] | None = None
    days: float | None = None
    n: int | None = None


def funnel(steps: Sequence[FunnelStep], *, title: str = "Funnel", width: float = 660) -> Markup:
    """Centred horizontal bars, one per stage, with the conversion and velocity to the next between them."""
    label_w = label_width([s.label for s in steps], 90, 180)
    side_w = 216.0  # "median 39.0 d · CI 12%–21%" at the stylesheet's 13px, inside the box that may scroll
    plot_x, plot_w = label_w, width - label_w - side_w
    bar_h, gap = 30.0, 26.0
    top = max((s.count for s in steps), default=0) or 1
    body: list[str] = []
    y = 4.0
    described: list[str] = []
    arrow = ident("arrow")
    for i, step in enumerate(steps):
        w = max(2.0, plot_w * step.count / top) if step.count else 2.0
        x = plot_x + (plot_w - w) / 2
        tone = f"fill-{min(i, 5) + 1}"
        body.append(rect(x, y, w, bar_h, tone, 3))
        body.append(
            text_at(plot_x - 10, y + bar_h / 2 + 4.5, clip(step.label, label_w - 12), anchor="end", cls="t")
        )
        text = f"{step.count:,}"
        inside = w > len(text) * BOLD_CHAR + 12
        body.append(
            text_at(
                plot_x + plot_w / 2 if inside else x + w + 6,
                y + bar_h / 2 + 4.5,
                text,
                anchor="middle" if inside else "start",
                cls="t-inv" if inside else "t-strong",
                weight="600",
            )
        )
        described.append(f"{step.label} {step.count:,}")
        y += bar_h
        if i < len(steps) - 1:
            mid = y + gap / 2
            body.append(
                f'<path d="M{num(plot_x + plot_w / 2)} {num(y + 3)} v{num(gap - 8)}" class="stroke-muted" '
                f'marker-end="url(#{arrow})"/>'
            )
            if step.rate is not None:
                rate = f"{pct(step.rate)} convert"
                extra = []
                if step.days is not None:
                    extra.append(f"median {step.days:.1f} d")
                if step.ci and step.ci[0] is not None and step.ci[1] is not None:
                    extra.append(f"CI {pct(step.ci[0], 0)}–{pct(step.ci[1], 0)}")
                body.append(text_at(plot_x + plot_w + 14, mid - 2, rate, cls="t-strong", weight="600"))
                if extra:
                    body.append(
                        text_at(plot_x + plot_w + 14, mid + 12, " · ".join(extra), cls="t-muted", size=11)
                    )
                described.append(f"{rate} to the next stage" + (f" ({', '.join(extra)})" if extra else ""))
            y += gap
    defs = (
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" '
        'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="fill-muted"/></marker></defs>'
    )
    return figure(width, y + 4, title, "; ".join(described), [defs, *body], "chart-funnel")


# ---- horizontal bars -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None  # interval whiskers, same unit as value
    high: float | None = None
    note: str | None = None  # text after the value, e.g. "lift 7.6x"
    tone: str = "fill-1"


def bars(
    items: Sequence[Bar],
    *,
    title: str,
    fmt: Callable[[float | None], str] = lambda v: "n/a" if v is None else f"{v:,.0f}",
    reference: tuple[str, float] | None = None,
    maximum: float | None = None,
    width: float = 560,
) -> Markup:
    """Horizontal bars with the value written at the end, optional interval whiskers and a reference line."""
    label_w = label_width([b.label for b in items], 80, max(170, width * 0.34))
    longest_note = max((len(b.note or "") for b in items), default=0)
    note_w = longest_note * 6.9 + 10 if longest_note else 0.0
    value_w = 62.0
    plot_x = label_w
    plot_w = width - label_w - value_w - note_w
    row_h, bar_h = 30.0, 18.0
    top_pad = 20.0 if reference else 4.0
    values = [v for b in items for v in (b.value, b.high) if v is not None]
    if reference:
        values.append(reference[1])
    top = maximum or (max(values) if values else 1.0) or 1.0
    scale = plot_w / top
    body: list[str] = []
    described: list[str] = []
    y = top_pad
    for b in items:
        cy = y + row_h / 2
        body.append(text_at(plot_x - 10, cy + 4.5, clip(b.label, label_w - 12), anchor="end"))
        body.append(rect(plot_x, cy - bar_h / 2, plot_w, bar_h, "fill-track", 2))
        if b.value is not None:
            w = max(1.5, min(plot_w, b.value * scale))
            body.append(rect(plot_x, cy - bar_h / 2, w, bar_h, b.tone, 2))
        if b.low is not None and b.high is not None:
            x1, x2 = plot_x + min(plot_w, b.low * scale), plot_x + min(plot_w, b.high * scale)
            body.append(
                f'<path d="M{num(x1)} {num(cy)} H{num(x2)} M{num(x1)} {num(cy - 5)} v10 '
                f'M{num(x2)} {num(cy - 5)} v10" class="whisker"/>'
            )
        body.append(text_at(plot_x + plot_w + 8, cy + 4.5, fmt(b.value), cls="t-strong", weight="600"))
        if b.note:
            body.append(text_at(plot_x + plot_w + value_w + 4, cy + 4.5, b.note, cls="t-muted", size=12))
        described.append(f"{b.label}: {fmt(b.value)}" + (f" ({b.note})" if b.note else ""))
        y += row_h
    if reference:
        x = plot_x + min(plot_w, reference[1] * scale)
        body.append(f'<path d="M{num(x)} {num(top_pad - 4)} V{num(y)}" class="ref-line"/>')
        body.append(
            text_at(x, 12, f"{reference[0]} {fmt(reference[1])}", anchor="middle", cls="t-muted", size=11)
        )
        described.append(f"reference line: {reference[0]} {fmt(reference[1])}")
    return figure(width, y + 4, title, "; ".join(described), body, "chart-bars")


# ---- columns -------------------------------------------------------------------------------------


def columns(
    items: Sequence[Bar],
    *,
    title: str,
    fmt: Callable[[float | None], str] = lambda v: "n/a" if v is None else f"{v:,.0f}",
    height: float = 180,
    width: float = 560,
) -> Markup:
    """Vertical columns with the value above each and the label below (short labels: stage ids, codes)."""
    n = max(1, len(items))
    slot = width / n
    col_w = min(64.0, slot * 0.6)
    base = height - 34
    top = max((b.value or 0 for b in items), default=0) or 1
    body = [f'<path d="M0 {num(base)} H{num(width)}" class="axis"/>']
    described = []
    for i, b in enumerate(items):
        cx = slot * i + slot / 2
        h = 0.0 if b.value is None else max(1.5, (base - 22) * b.value / top)
        body.append(rect(cx - col_w / 2, base - h, col_w, h, b.tone, 2))
        body.append(text_at(cx, base - h - 6, fmt(b.value), anchor="middle", cls="t-strong", weight="600"))
        body.append(text_at(cx, base + 16, clip(b.label, slot - 4), anchor="middle", size=12))
        if b.note:
            body.append(
                text_at(cx, base + 30, clip(b.note, slot - 4), anchor="middle", cls="t-muted", size=11)
            )
        described.append(f"{b.label}: {fmt(b.value)}")
    return figure(width, height, title, "; ".join(described), body, "chart-columns")


def pairs(
    labels: Sequence[str],
    first: Sequence[float | None],
    second: Sequence[float | None],
    *,
    names: tuple[str, str],
    title: str,
    fmt: Callable[[float | None], str] = lambda v: "n/a" if v is None else f"{v:,.0f}",
    height: float = 190,
    width: float = 660,
) -> Markup:
    """Two series side by side per label (a week under the version in force and under a proposal),
    on one scale, with a legend: the difference is read column against column."""
    n = max(1, len(labels))
    slot = width / n
    col_w = min(20.0, slot * 0.36)
    base = height - 26
    top = max((v or 0 for v in (*first, *second)), default=0) or 1
    body = [f'<path d="M0 {num(base)} H{num(width)}" class="axis"/>']
    legend([("fill-1", names[0]), ("fill-3", names[1])], 4, 12, width, body)
    described = []
    for i, label in enumerate(labels):
        cx = slot * i + slot / 2
        values = (first[i] if i < len(first) else None, second[i] if i < len(second) else None)
        for k, (value, tone) in enumerate(zip(values, ("fill-1", "fill-3"), strict=True)):
            x = cx - col_w - 1 if k == 0 else cx + 1
            h = 0.0 if not value else max(1.5, (base - 40) * value / top)
            body.append(rect(x, base - h, col_w, h, tone, 2))
            if slot >= 36:
                body.append(
                    text_at(x + col_w / 2, base - h - 4, fmt(value), anchor="middle", cls="t-muted", size=10)
                )
        body.append(text_at(cx, base + 16, clip(label, slot - 2), anchor="middle", size=11))
        described.append(f"{label}: {names[0]} {fmt(values[0])}, {names[1]} {fmt(values[1])}")
    return figure(width, height, title, "; ".join(described), body, "chart-columns")


# ---- speed to lead ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    label: str
    share: float | None
    tone: str


def speed(
    buckets: Sequence[Bucket],
    markers: Sequence[tuple[str, float | None]],
    *,
    title: str = "Speed to lead",
    target_minutes: float | None = None,
    width: float = 460,
) -> Markup:
    """Speed-to-lead: p50/p90 on a log time axis over coloured zones, and the shares of touches per band.

    The log axis keeps 2 minutes and 4 hours on one line; the zones (5 min, 1 h) are the thresholds the
    agreement reports on, so the markers read against them at a glance.
    """
    left, right = 10.0, 10.0
    plot_w = width - left - right
    known = [m for _, m in markers if m is not None]
    hi = max([240.0, *(m * 1.6 for m in known)])
    lo = 1.0

    def x(minutes: float) -> float:
        m = min(max(minutes, lo), hi)
        return left + plot_w * (math.log10(m) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    body: list[str] = []
    described: list[str] = []
    band_top, band_h = 40.0, 18.0
    axis_y = band_top + band_h
    for a, b, cls in ((lo, 5.0, "zone-ok"), (5.0, 60.0, "zone-warn"), (60.0, hi, "zone-bad")):
        body.append(rect(x(a), band_top, x(b) - x(a), band_h, cls))
    body.append(f'<path d="M{num(left)} {num(axis_y)} H{num(left + plot_w)}" class="axis"/>')
    last_x = -1e9
    for t in (1, 5, 15, 60, 240, 960, 3840):
        if t > hi:
            break
        tx = x(t)
        if tx - last_x < 34:
            continue
        last_x = tx
        label = f"{t} min" if t < 60 else f"{t // 60} h"
        body.append(f'<path d="M{num(tx)} {num(axis_y)} v5" class="axis"/>')
        half = len(label) * CHAR / 2
        edge = "start" if tx - half < 0 else "end" if tx + half > width else None
        body.append(text_at(tx, axis_y + 17, label, anchor=edge or "middle", cls="t-muted", size=11))
    if target_minutes:
        tx = x(target_minutes)
        body.append(f'<path d="M{num(tx)} {num(band_top - 4)} V{num(axis_y)}" class="ref-line"/>')
    placed: list[tuple[int, float, float]] = []  # (line, left, right) of each label drawn
    for name, minutes in markers:
        if minutes is None:
            continue
        mx = x(minutes)
        text = f"{name} {minutes:,.1f} min"
        # the label's own extent (bold text), not its marker's position: an end-anchored label
        # reaches as far left as a centred one next to it, which is how "p50 29.4 mip90" came about
        wide = len(text) * BOLD_CHAR
        anchor = "end" if mx + wide / 2 > width - 2 else "start" if mx - wide / 2 < 2 else "middle"
        x0 = mx - wide if anchor == "end" else mx if anchor == "start" else mx - wide / 2
        line = 0
        while any(ln == line and x0 < x1 + 8 and x_0 < x0 + wide + 8 for ln, x_0, x1 in placed):
            line += 1
        placed.append((line, x0, x0 + wide))
        ty = 14 + 14 * line
        body.append(f'<path d="M{num(mx - 6)} {num(band_top - 8)} h12 l-6 8 z" class="marker"/>')
        if line:
            body.append(f'<path d="M{num(mx)} {num(ty + 3)} V{num(band_top - 8)}" class="stroke-muted"/>')
        body.append(text_at(mx, ty, text, anchor=anchor, cls="t-strong", size=12, weight="600"))
        described.append(f"{name} {minutes:,.1f} business minutes")
    bar_y, bar_h = axis_y + 30, 22.0
    cursor = left
    total = sum(k.share or 0 for k in buckets) or 1.0
    for bucket in buckets:
        w = plot_w * (bucket.share or 0) / total
        if w <= 0:
            continue
        body.append(rect(cursor, bar_y, w, bar_h, f"{bucket.tone} seg"))
        if w > 40:
            body.append(
                text_at(
                    cursor + w / 2,
                    bar_y + 15.5,
                    pct(bucket.share, 0),
                    anchor="middle",
                    cls="t-inv",
                    weight="600",
                )
            )
        cursor += w
    items = [(k.tone, f"{k.label}: {pct(k.share)}") for k in buckets]
    described += [text for _, text in items]
    last = legend(items, left, bar_y + bar_h + 20, width, body)
    return figure(width, last + 8, title, "; ".join(described), body, "chart-speed")


# ---- stacked coverage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    label: str
    value: float
    detail: str = ""


def coverage(
    segments: Sequence[Segment],
    *,
    remaining: float | None,
    target: float | None,
    money: Callable[[float], str],
    title: str = "Pipeline coverage by stage",
    width: float = 560,
) -> Markup:
    """Open pipeline per stage stacked into one bar, measured in multiples of the target still to win.

    The target multiple (3x in the starter) is a line across the bar, so "how far short" is a length
    and a number at once.
    """
    left, right = 14.0, 70.0
    plot_w = width - left - right
    total = sum(s.value for s in segments)
    body: list[str] = []
    described: list[str] = []
    if not remaining:
        body.append(text_at(left, 20, "No remaining target in the plan period: coverage has no denominator.",
                          cls="t-muted"))  # fmt: skip
        return figure(width, 32, title, "no remaining target", body, "chart-coverage")
    multiple = total / remaining
    span = max(multiple, target or 0.0, 1.0) * 1.1
    scale = plot_w / (span * remaining)
    bar_y, bar_h = 26.0, 30.0
    body.append(rect(left, bar_y, plot_w, bar_h, "fill-track", 3))
    cursor = left
    for i, s in enumerate(segments):
        w = s.value * scale
        if w <= 0:
            continue
        body.append(rect(cursor, bar_y, w, bar_h, f"fill-{i % 6 + 1} seg"))
        if w > 46:
            share = s.value / remaining
            body.append(
                text_at(cursor + w / 2, bar_y + 19.5, f"{share:.2f}x", anchor="middle", cls="t-inv", size=12)
            )
        cursor += w
        described.append(f"{s.label}: {money(s.value)} ({s.value / remaining:.2f}x)")
    body.append(text_at(cursor + 6, bar_y + 20, f"{multiple:.2f}x", cls="t-strong", weight="700", size=14))
    for k in range(int(span) + 1):
        tx = left + k * remaining * scale
        body.append(f'<path d="M{num(tx)} {num(bar_y + bar_h)} v5" class="axis"/>')
        body.append(text_at(tx, bar_y + bar_h + 18, f"{k}x", anchor="middle", cls="t-muted", size=11))
    if target:
        tx = left + target * remaining * scale
        body.append(f'<path d="M{num(tx)} {num(bar_y - 8)} V{num(bar_y + bar_h + 2)}" class="ref-line"/>')
        body.append(text_at(tx, bar_y - 12, f"target {target:g}x", anchor="middle", cls="t-muted", size=11))
        described.append(f"target {target:g}x")
    items = [(f"fill-{i % 6 + 1}", f"{s.label} {money(s.value)}") for i, s in enumerate(segments)]
    last = legend(items, left, bar_y + bar_h + 44, width, body)
    described.insert(
        0, f"open pipeline {money(total)} is {multiple:.2f}x the {money(remaining)} still to win"
    )
    return figure(width, last + 8, title, "; ".join(described), body, "chart-coverage")


# ---- score composition ---------------------------------------------------------------------------


def composition(parts: Sequence[Segment], *, title: str = "Score composition", width: float = 700) -> Markup:
    """One bar split into the score's parts (fit, intent, committee), labelled with their points."""
    left = 4.0
    plot_w = width - 8
    positive = [p for p in parts if p.value > 0]
    total = sum(p.value for p in positive) or 1.0
    body: list[str] = []
    cursor = left
    described = []
    for i, p in enumerate(positive):
        w = plot_w * p.value / total
        tone = f"fill-{i % 6 + 1}"
        body.append(rect(cursor, 4, w, 30, f"{tone} seg", 2))
        text = f"{p.label} +{p.value:g}"
        if w > len(text) * BOLD_CHAR + 10:
            body.append(text_at(cursor + 8, 24, text, cls="t-inv", weight="600"))
        elif w > 40:
            body.append(
                text_at(cursor + w / 2, 24, f"+{p.value:g}", anchor="middle", cls="t-inv", weight="600")
            )
        cursor += w
        described.append(text)
    return figure(width, 38, title, "; ".join(described), body, "chart-composition")
