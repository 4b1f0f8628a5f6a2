"""SVG building blocks of the charts: coordinates, text, boxes, legends and the figure around them.

Kept apart so each chart in accord.web.charts reads as layout only. Label widths are estimated from
the character count (about 7 units per character at the 13-unit font), which is all a fixed layout
needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

CHAR = 7.0  # average glyph width at font-size 13, in viewBox units
BOLD_CHAR = 8.2
"""Glyph width of semi-bold text, mostly digits, at the stylesheet's 13px (which wins over a label's
own font-size attribute), a little wide so a label judged to fit never runs past its bar or into the
next label. Measured on the lead page: "intent +10.42" at CHAR fitted a 102-unit segment on paper and
ran over its edge in Chromium."""
_ids = count(1)


def ident(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def num(x: float) -> str:
    """A coordinate with at most one decimal: small markup, stable output."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_at(
    x: float,
    y: float,
    body: str,
    *,
    cls: str = "t",
    anchor: str = "start",
    size: float | None = None,
    weight: str | None = None,
) -> str:
    extra = f' font-size="{num(size)}"' if size else ""
    extra += f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{num(x)}" y="{num(y)}" class="{cls}" text-anchor="{anchor}"{extra}>{escape(body)}</text>'
    )


def rect(x: float, y: float, w: float, h: float, cls: str, rx: float = 0) -> str:
    corner = f' rx="{num(rx)}"' if rx else ""
    return f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" class="{cls}"{corner}/>'


def figure(width: float, height: float, title: str, desc: str, body: list[str], cls: str = "") -> Markup:
    """The chart's own size rides along as width and height: the stylesheet scales it to its card, and on
    a narrow screen lets it keep that size (readable text) inside a ``.chart-box`` that scrolls."""
    key = ident("chart")
    return Markup(
        f'<svg class="{escape(("chart " + cls).strip())}" viewBox="0 0 {num(width)} {num(height)}" '
        f'width="{num(width)}" height="{num(height)}" '
        f'role="img" aria-labelledby="{key}-t {key}-d" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{key}-t">{escape(title)}</title><desc id="{key}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def label_width(labels: Sequence[str], floor: float = 60, ceiling: float = 220) -> float:
    """Room for the longest label (plus the gap before the bar), between ``floor`` and ``ceiling``."""
    longest = max((len(s) for s in labels), default=0)
    return max(floor, min(ceiling, longest * CHAR + 14))


def clip(label: str, width: float) -> str:
    """Shorten a label to fit ``width`` units; the full text stays in the table beside the chart."""
    room = max(3, int(width / CHAR))
    return label if len(label) <= room else label[: room - 1].rstrip() + "…"


def legend(items: Sequence[tuple[str, str]], x0: float, y0: float, width: float, body: list[str]) -> float:
    """Swatch-and-text legend that wraps to the width; returns the y of its last line."""
    lx, ly = x0, y0
    for tone, text in items:
        need = 16 + len(text) * 6.6 + 18
        if lx + need > width and lx > x0:
            lx, ly = x0, ly + 20
        body.append(rect(lx, ly - 10, 11, 11, tone, 2))
        body.append(text_at(lx + 16, ly, text, size=12))
        lx += need
    return ly
