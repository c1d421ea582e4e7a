"""Admin: the dashboard -- figures, uploads per day, largest images, latest audit entries."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template

from gallery.web.admin.common import bp
from gallery.web.context import runtime

#: Geometry of the uploads-per-day chart, in SVG user units.
CHART_WIDTH = 600
CHART_HEIGHT = 120
CHART_GAP = 2


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar in the chart."""

    day: str
    count: int
    x: float
    y: float
    width: float
    height: float


def bars(per_day: list[tuple[str, int]]) -> list[Bar]:
    """Bars for ``(day, count)`` pairs, scaled so the busiest day fills the chart's height."""
    if not per_day:
        return []
    peak = max(count for _, count in per_day) or 1
    slot = CHART_WIDTH / len(per_day)
    out = []
    for n, (day, count) in enumerate(per_day):
        height = CHART_HEIGHT * count / peak
        if count:
            height = max(height, 2.0)  # a single upload stays visible next to a busy day
        out.append(Bar(day, count, round(n * slot + CHART_GAP / 2, 2), round(CHART_HEIGHT - height, 2),
                       round(slot - CHART_GAP, 2), round(height, 2)))
    return out


@bp.get("/")
def dashboard():
    stats = runtime().operations.stats()
    busiest = max(stats.per_day, key=lambda day: day[1], default=("", 0))
    return render_template(
        "admin/dashboard.html",
        stats=stats,
        bars=bars(stats.per_day),
        chart={"width": CHART_WIDTH, "height": CHART_HEIGHT},
        uploads_30_days=sum(count for _, count in stats.per_day),
        busiest=busiest,
    )
