"""Draw the drain throughput and latency of every engine from a results JSON as one SVG.

Usage: python benchmarks/chart.py [results/latest.json] [results/latest.svg]
No plotting library: a few rectangles and labels are enough for two bar charts.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 260
PLOT_WIDTH = 420
PANELS = [
    (
        "drain-c4",
        "window_jobs_per_second",
        "Drain, concurrency 4 (jobs/s, first start to last finish; higher is better)",
    ),
    (
        "drain-c4",
        "jobs_per_second",
        "Drain, concurrency 4 (jobs/s, including worker start-up; higher is better)",
    ),
    ("latency", "p50_ms", "Enqueue to start latency, p50 (ms; lower is better)"),
]


def _rows(results: list[dict[str, Any]], scenario: str, metric: str) -> list[tuple[str, float]]:
    rows = []
    for result in results:
        median = result.get("median") or {}
        if result.get("scenario") == scenario and result.get("status") == "ok" and metric in median:
            label = f"{result['engine']} ({result['database']})"
            rows.append((label, float(median[metric])))
    return rows


def render(results: list[dict[str, Any]], title: str) -> str:
    """Return the SVG document."""
    parts: list[str] = []
    y = 40
    for scenario, metric, caption in PANELS:
        rows = _rows(results, scenario, metric)
        if not rows:
            continue
        parts.append(f'<text x="10" y="{y}" font-weight="bold">{escape(caption)}</text>')
        y += 12
        top = max(value for _, value in rows) or 1.0
        for label, value in rows:
            width = max(1.0, PLOT_WIDTH * value / top)
            colour = "#2b6cb0" if label.startswith("ours") else "#a0aec0"
            parts.append(f'<text x="10" y="{y + 16}">{escape(label)}</text>')
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}">{value:,.1f}</text>'
            )
            y += BAR_HEIGHT + GAP
        y += 30
    width = LABEL_WIDTH + PLOT_WIDTH + 120
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
        f'font-family="sans-serif" font-size="13">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>'
        + "".join(parts)
        + "</svg>\n"
    )


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else HERE / "results" / "latest.json"
    target = Path(argv[2]) if len(argv) > 2 else source.with_suffix(".svg")
    data = json.loads(source.read_text())
    title = f"django-resilient-queue and peers, {data['meta'].get('generated_at', '')}"
    target.write_text(render(data["results"], title))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
