"""Server-side SVG charts: a score over time, bars, and a Kaplan-Meier step curve.

Pure (data in, SVG text out, no CDN, no script). Each chart is `role="img"` with a <title> and
<desc> that say what it shows in words; the page puts a data table next to it for screen readers
and for anyone who wants the numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

__all__ = ["Bar", "bar_chart", "km_chart", "line_chart"]

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
_ids = itertools.count(1)


def _open(title: str, desc: str, height: int = H) -> tuple[str, str]:
    n = next(_ids)
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def _y_axis(lo: float, hi: float, ticks: Sequence[float], height: int = H, fmt: str = "{:g}") -> list[str]:
    out = []
    for t in ticks:
        y = _sy(t, lo, hi, height)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt.format(t))}</text>')
    return out


def _sy(v: float, lo: float, hi: float, height: int = H) -> float:
    span = (hi - lo) or 1.0
    return TOP + (1 - (v - lo) / span) * (height - TOP - BOTTOM)


def _sx(v: float, lo: float, hi: float) -> float:
    span = (hi - lo) or 1.0
    return LEFT + (v - lo) / span * (W - LEFT - RIGHT)


def line_chart(
    title: str,
    points: Sequence[tuple[date, float]],
    *,
    y_range: tuple[float, float],
    better: str,
    threshold: float | None = None,
    threshold_label: str = "",
    markers: Sequence[tuple[date, str]] = (),
) -> str:
    """One score over time; a dashed line marks the score that reaches the MCID from baseline."""
    lo, hi = y_range
    days = [p[0] for p in points] + [m[0] for m in markers]
    start, end = (min(days), max(days)) if days else (date.today(), date.today())
    if start == end:
        end = date.fromordinal(start.toordinal() + 1)
    x = lambda d: _sx(d.toordinal(), start.toordinal(), end.toordinal())  # noqa: E731
    values = ", ".join(f"{d.strftime('%d %b %Y')}: {v:.0f}" for d, v in points)
    desc = (f"{title}, {'higher' if better == 'higher' else 'lower'} is better. Results: {values or 'none'}."
            + (f" {threshold_label}." if threshold is not None else ""))
    head, tail = _open(title, desc)
    parts = [head]
    step = (hi - lo) / 4
    parts += _y_axis(lo, hi, [lo + step * i for i in range(5)])
    for d, label in markers:
        if start <= d <= end:
            mx = x(d)
            parts.append(f'<line class="marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{H - BOTTOM}"/>')
            parts.append(f'<text class="marker-label" x="{mx + 3:.1f}" y="{TOP + 10}">{escape(label)}</text>')
    if threshold is not None and lo <= threshold <= hi:
        ty = _sy(threshold, lo, hi)
        parts.append(f'<line class="mcid" x1="{LEFT}" x2="{W - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        parts.append(f'<text class="mcid-label" x="{W - RIGHT - 4}" y="{ty - 4:.1f}" text-anchor="end">'
                     f'{escape(threshold_label)}</text>')
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(d):.1f},{_sy(v, lo, hi):.1f}" for i, (d, v) in enumerate(points))
        parts.append(f'<path class="series" d="{path}"/>')
        for d, v in points:
            parts.append(f'<circle class="point" cx="{x(d):.1f}" cy="{_sy(v, lo, hi):.1f}" r="4">'
                         f'<title>{d.strftime("%d %b %Y")}: {v:.1f}</title></circle>')
    parts.append(f'<text class="tick" x="{LEFT}" y="{H - 12}">{start.strftime("%b %Y")}</text>')
    parts.append(f'<text class="tick" x="{W - RIGHT}" y="{H - 12}" text-anchor="end">{end.strftime("%b %Y")}</text>')
    parts.append(tail)
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""


def bar_chart(title: str, bars: Sequence[Bar], *, y_range: tuple[float, float], unit: str = "") -> str:
    """Vertical bars (negative values hang below zero), each labelled with its value."""
    lo, hi = y_range
    desc = f"{title}: " + "; ".join(f"{b.label} {b.value:.1f}{unit}" for b in bars) if bars else f"{title}: no data"
    head, tail = _open(title, desc)
    parts = [head]
    step = (hi - lo) / 4
    parts += _y_axis(lo, hi, [lo + step * i for i in range(5)], fmt="{:.0f}" + unit)
    zero = _sy(max(lo, min(0.0, hi)), lo, hi)
    n = max(1, len(bars))
    slot = (W - LEFT - RIGHT) / n
    width = max(4.0, slot * 0.6)
    for i, b in enumerate(bars):
        cx = LEFT + slot * (i + 0.5)
        y = _sy(max(lo, min(b.value, hi)), lo, hi)
        top, height = min(y, zero), abs(zero - y)
        parts.append(f'<rect class="bar" x="{cx - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
                     f'height="{max(height, 0.5):.1f}"><title>{escape(b.label)}: {b.value:.1f}{escape(unit)}'
                     f'{escape(" " + b.note if b.note else "")}</title></rect>')
        parts.append(f'<text class="bar-value" x="{cx:.1f}" y="{top - 4:.1f}" text-anchor="middle">'
                     f'{b.value:.0f}{escape(unit)}</text>')
        parts.append(f'<text class="tick" x="{cx:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                     f'{escape(b.label)}</text>')
    parts.append(tail)
    return "".join(parts)


def km_chart(
    title: str,
    steps: Sequence[tuple[float, float, float, float]],
    *,
    median: float | None,
    x_label: str = "days",
) -> str:
    """Proportion returned (1 - S) as a step curve with its 95% band; steps = (t, S, lower, upper)."""
    t_max = max([s[0] for s in steps] + [1.0])
    x = lambda t: _sx(t, 0.0, t_max)  # noqa: E731
    y = lambda p: _sy(p, 0.0, 100.0)  # noqa: E731
    med = f"median {median:.0f} {x_label}" if median is not None else "median not reached"
    desc = (f"{title}: share returned rises to {100 * (1 - steps[-1][1]):.0f}% by {steps[-1][0]:.0f} {x_label}; {med}."
            if steps else f"{title}: no data")
    head, tail = _open(title, desc)
    parts = [head]
    parts += _y_axis(0, 100, [0, 25, 50, 75, 100], fmt="{:.0f}%")
    if steps:
        line, band_hi, band_lo = [f"M{x(0):.1f},{y(0):.1f}"], [], []
        prev = (0.0, 1.0, 1.0, 1.0)
        for t, s, lo_s, up_s in steps:
            line.append(f"L{x(t):.1f},{y(100 * (1 - prev[1])):.1f} L{x(t):.1f},{y(100 * (1 - s)):.1f}")
            band_hi += [(x(prev[0]), y(100 * (1 - prev[2]))), (x(t), y(100 * (1 - prev[2])))]
            band_lo += [(x(prev[0]), y(100 * (1 - prev[3]))), (x(t), y(100 * (1 - prev[3])))]
            prev = (t, s, lo_s, up_s)
        band = band_hi + list(reversed(band_lo))
        parts.append('<polygon class="band" points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in band) + '"/>')
        parts.append(f'<path class="series step" d="{" ".join(line)}"/>')
        if median is not None:
            mx = x(median)
            parts.append(f'<line class="mcid" x1="{LEFT}" x2="{mx:.1f}" y1="{y(50):.1f}" y2="{y(50):.1f}"/>')
            parts.append(f'<line class="mcid" x1="{mx:.1f}" x2="{mx:.1f}" y1="{y(50):.1f}" y2="{H - BOTTOM}"/>')
            parts.append(f'<text class="mcid-label" x="{mx + 4:.1f}" y="{y(50) - 4:.1f}">{escape(med)}</text>')
    parts.append(f'<text class="tick" x="{LEFT}" y="{H - 12}">0</text>')
    parts.append(f'<text class="tick" x="{W - RIGHT}" y="{H - 12}" text-anchor="end">{t_max:.0f} {escape(x_label)}</text>')
    parts.append(tail)
    return "".join(parts)
