"""Charts as server-rendered SVG: no script, no CDN, readable without JavaScript and printable.

Each function takes plain (label, value) points and returns safe markup; labels are escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 36


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 × a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _frame(title: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 (every interpolated label is escaped above)
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _axes(top_value: float, fmt: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{escape(fmt(top_value * i / 4))}</text>'
        )
    return parts


def _label_every(n: int) -> int:
    return max(1, -(-n // 12))  # at most ~12 labels under the axis


def bar_chart(
    points: Sequence[tuple[str, float]], *, title: str, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}"
) -> SafeString:
    if not points:
        return _frame(
            title, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#777">No data</text>']
        )
    top = _nice_max(max(v for _l, v in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)
    body = _axes(top, fmt)
    every = _label_every(len(points))
    for i, (label, value) in enumerate(points):
        h = plot_h * max(value, 0) / top
        x = LEFT + i * slot + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#417690">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
        if i % every == 0:
            body.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">{escape(label)}</text>'
            )
    return _frame(title, body)


def line_chart(
    points: Sequence[tuple[str, float]], *, title: str, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}", top=None
) -> SafeString:
    if not points:
        return bar_chart(points, title=title, fmt=fmt)
    top = top or _nice_max(max(v for _l, v in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    coords = [(LEFT + i * step, TOP + plot_h - plot_h * v / top) for i, (_l, v) in enumerate(points)]
    body = _axes(top, fmt)
    body.append(
        '<polyline fill="none" stroke="#417690" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        + '"/>'
    )
    every = _label_every(len(points))
    for i, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#417690"><title>{escape(label)}: {escape(fmt(value))}</title></circle>'
        )
        if i % every == 0:
            body.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">{escape(label)}</text>'
            )
    return _frame(title, body)


def report_charts(report) -> dict[str, SafeString]:
    """The charts of an ``OwnerReport``: net revenue and orders per period (shop currency), CSAT per period."""
    from django.conf import settings

    from flowmart.money import Money

    currency = settings.SHOP_CURRENCY
    sales = [r for r in report.sales if r.currency == currency]
    return {
        "revenue": bar_chart(
            [(r.period.isoformat(), r.net_minor) for r in sales],
            title=f"Net revenue per {report.period} ({currency})",
            fmt=lambda v: str(Money(round(v), currency)),
        ),
        "orders": bar_chart([(r.period.isoformat(), r.orders) for r in sales], title=f"Orders per {report.period}"),
        "csat": line_chart(
            [(r["period"].isoformat(), r["csat_percent"]) for r in report.csat],
            title=f"CSAT % per {report.period}",
            fmt=lambda v: f"{v:.0f}%",
            top=100,
        ),
    }
