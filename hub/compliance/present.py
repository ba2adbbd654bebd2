"""What compliance pages show, in words and pictures: waits, and the decisions trend chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from hub.compliance.reports import VERDICTS, Table
from hub.i18n import _, label


@dataclass(frozen=True)
class Bar:
    """One stacked segment of the trend chart (SVG user units)."""

    x: float
    y: float
    width: float
    height: float
    verdict: str
    label: str


@dataclass(frozen=True)
class Chart:
    """Geometry of the trend chart, rendered as inline SVG by the template."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    left: int
    max_total: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    summary: str

    def bars_svg(self) -> Markup:
        """The bars as SVG ``<rect>`` elements, each with a ``<title>`` naming its day, count
        and series.

        Built here, not in the template: a year has some 1,500 bars, and four Jinja filters
        and two escapes per bar took a fifth of the report page's time.
        """
        return Markup(
            "".join(
                f'<rect x="{b.x:.2f}" y="{b.y:.2f}" width="{b.width:.2f}" '
                f'height="{b.height:.2f}" class="bar {escape(b.verdict)}">'
                f"<title>{escape(b.label)}</title></rect>"
                for b in self.bars
            )
        )


def trend_chart(
    table: Table,
    width: int = 860,
    height: int = 240,
    series: Sequence[str] = VERDICTS,
    what: str | None = None,
) -> Chart:
    """Stacked bars (one per day, one segment per series) scaled to the busiest day.

    ``table`` rows are (day, one count per series, total); a bar's ``verdict`` is its series
    name (the CSS class that colours it), its label names the series by its column heading.
    ``what`` names the counted things in the summary (default: decisions).
    """
    left, top, bottom = 44, 10, height - 24
    days = table.rows
    max_total = max((r[-1] for r in days), default=0)
    step = (width - left - 6) / max(len(days), 1)
    bar_w = max(step * 0.8, 0.5)
    bars: list[Bar] = []
    scale = (bottom - top) / max_total if max_total else 0.0
    # one translation per series, not one per bar (a year has some 1,500 bars)
    names = [
        label(verdict) if verdict in VERDICTS else table.columns[1 + j]
        for j, verdict in enumerate(series)
    ]
    for i, row in enumerate(days):
        y = float(bottom)
        x = left + i * step
        for j, verdict in enumerate(series):
            n = row[1 + j]
            if not n:
                continue
            h = n * scale
            y -= h
            bars.append(Bar(x, y, bar_w, h, verdict, f"{row[0]}: {n} {names[j]}"))
    label_every = max(1, len(days) // 8)
    ticks = [(left + i * step, r[0][5:]) for i, r in enumerate(days) if i % label_every == 0]
    total = sum(r[-1] for r in days)
    summary = (
        _(
            "%(what)s per day from %(start)s to %(end)s: %(total)s in all, "
            "at most %(max)s on one day.",
            what=what or _("Decisions"),
            start=days[0][0],
            end=days[-1][0],
            total=total,
            max=max_total,
        )
        if days
        else _("No days in the period.")
    )
    return Chart(width, height, top, bottom, left, max_total, bars, ticks, summary)


def format_wait(seconds: int) -> str:
    """A waiting time in words a person scans quickly ("3 d 4 h", "2 h 5 min", "40 s")."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    if minutes:
        return _("%(minutes)s min", minutes=minutes)
    return _("%(seconds)s s", seconds=secs)
