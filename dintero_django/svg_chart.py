"""A small grouped bar chart drawn on the server as SVG: no JavaScript, no chart library.

Only numbers and escaped labels go into the markup, so it is safe to mark it safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[int]


WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 70, 30, 24


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, value_label: object = str) -> SafeString:
    """Bars per label, one colour per series; ``value_label`` formats the axis maximum."""
    groups = max(len(labels), 1)
    top = max((v for s in series for v in s.values), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" class="dintero-chart" font-size="11" font-family="sans-serif">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(value_label(top))}</text>',  # type: ignore[operator]
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for index, label in enumerate(labels):
        x0 = LEFT + index * group_w + group_w * 0.1
        for n, each in enumerate(series):
            value = each.values[index] if index < len(each.values) else 0
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + n * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{escape(each.colour)}"><title>{escape(each.name)} '
                f"{escape(label)}: {escape(value_label(value))}</title></rect>"  # type: ignore[operator]
            )
        middle = x0 + group_w * 0.4
        parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(label)}</text>')
    for n, each in enumerate(series):
        x = LEFT + n * 150
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{escape(each.colour)}"/>')
        parts.append(f'<text x="{x + 14}" y="13">{escape(each.name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only
