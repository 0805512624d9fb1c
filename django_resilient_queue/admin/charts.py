"""Server-rendered SVG charts with axes and labels: no JavaScript, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#417690", "#ba2121", "#e69f00", "#009e73", "#8e44ad", "#56b4e9", "#7f7f7f")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 44


@dataclass(frozen=True)
class Series:
    """A named line: (time, value) points in time order."""

    name: str
    points: Sequence[tuple[datetime, float]]
    color: str = ""


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(title: str, y_label: str, x_label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="drq-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" class="drq-chart-title">{escape(title)}</text>',
        f'<text transform="translate(14 {TOP + (HEIGHT - TOP - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle" class="drq-axis-label">{escape(y_label)}</text>',
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'class="drq-axis-label">{escape(x_label)}</text>',
    ]


def _y_axis(top_value: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = top_value * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="drq-grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="drq-tick">'
            f"{_number(value)}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" class="drq-axis"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'class="drq-axis"/>'
    )
    return parts


def line_chart(
    title: str,
    series: Sequence[Series],
    start: datetime,
    end: datetime,
    *,
    y_label: str,
    time_format: str = "%H:%M",
) -> SafeString:
    """A time chart of ``series`` between ``start`` and ``end``, with a legend."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(1.0, (end - start).total_seconds())
    peak = max((v for s in series for _, v in s.points), default=0.0)
    top_value = nice_ceiling(peak)
    parts = _frame(title, y_label, "time (" + timezone.get_current_timezone_name() + ")")
    parts += _y_axis(top_value)
    for i in range(7):
        moment = start + (end - start) * i / 6
        x = LEFT + plot_w * i / 6
        label = timezone.localtime(moment).strftime(time_format)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 4}" '
            f'class="drq-axis"/><text x="{x:.1f}" y="{TOP + plot_h + 17}" '
            f'text-anchor="middle" class="drq-tick">{escape(label)}</text>'
        )
    drawn = 0
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        coords = [
            (
                LEFT + plot_w * (moment - start).total_seconds() / span,
                TOP + plot_h - plot_h * value / top_value,
            )
            for moment, value in line.points
            if start <= moment <= end
        ]
        if coords:
            drawn += 1
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
                f'class="drq-series" data-series="{escape(line.name)}"/>'
            )
        legend_x = LEFT + 8 + 130 * index
        parts.append(
            f'<rect x="{legend_x}" y="{TOP + 4}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{TOP + 13}" class="drq-legend">'
            f"{escape(line.name[:18])}</text>"
        )
    if not drawn:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            'class="drq-empty">no samples yet: runworkers records them every few seconds</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]], *, x_label: str) -> SafeString:
    """Horizontal bars of values in 0..1 (shown as percentages), each with its own note."""
    row_h = 22
    # The percentage ticks sit between the title and the first bar.
    top = TOP + 16
    height = top + 20 + row_h * max(1, len(bars))
    label_w = 220
    plot_w = WIDTH - label_w - RIGHT - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="drq-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="18" class="drq-chart-title">{escape(title)}</text>',
        f'<text x="{label_w + plot_w / 2}" y="{height - 4}" text-anchor="middle" '
        f'class="drq-axis-label">{escape(x_label)}</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + plot_w * tick
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 22}" class="drq-grid"/>'
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" class="drq-tick">'
            f"{tick:.0%}</text>"
        )
    for index, (label, value, note) in enumerate(bars):
        y = top + row_h * index
        width = max(1.0, plot_w * min(1.0, max(0.0, value)))
        color = PALETTE[1] if value >= 0.05 else PALETTE[0]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="drq-tick">'
            f"{escape(label[-34:])}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row_h - 8}" '
            f'fill="{color}" class="drq-bar"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 15}" class="drq-legend">'
            f"{value:.1%} {escape(note)}</text>"
        )
    if not bars:
        parts.append(
            f'<text x="{label_w + plot_w / 2}" y="{top + 15}" text-anchor="middle" '
            'class="drq-empty">no job finished in this window</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
