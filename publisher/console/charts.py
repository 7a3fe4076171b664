"""Dashboard charts as SVG, drawn on the server: the only importer of pygal.

No script and no CDN: pygal's tooltips script is switched off (``js=[]``); the SVG is
inlined in the page and reads without JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1f2328",
    foreground_strong="#1f2328", foreground_subtle="#57606a", opacity=".85",
    opacity_hover=".95", font_family="system-ui, sans-serif", label_font_size=13,
    major_label_font_size=13, legend_font_size=14, title_font_size=16,
    colors=("#0b4f9c", "#d4a72c", "#a40e26", "#2da44e", "#8250df", "#57606a", "#bc4c00",
            "#1b7c83", "#cf222e", "#6e7781"),
)  # fmt: skip
# pygal writes its config for the tooltips script inline; with js=[] nothing reads it, and
# the console's CSP would refuse it anyway.
_SCRIPT = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.S)  # and its credit comments
Series = Sequence[tuple[str, Sequence[float | None]]]


def _config(title: str, labels: Sequence[str]) -> dict[str, object]:
    return {
        "title": title, "style": STYLE, "js": [], "disable_xml_declaration": True,
        "width": 1000, "height": 300, "explicit_size": False, "legend_at_bottom": True,
        "legend_at_bottom_columns": 4, "show_minor_x_labels": False,
        "x_labels_major_every": max(1, len(labels) // 6), "truncate_legend": 30,
        "truncate_label": -1, "print_values": False, "margin": 8, "no_data_text": "-",
    }  # fmt: skip


def _short(day: str) -> str:
    return day[5:] if len(day) == 10 else day  # MM-DD


def bars(title: str, days: Sequence[str], series: Series, *, stacked: bool = True) -> str:
    chart = (pygal.StackedBar if stacked else pygal.Bar)(**_config(title, days))
    chart.x_labels = [_short(d) for d in days]
    for name, values in series:
        chart.add(name, list(values))
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def rates(title: str, days: Sequence[str], series: Series, *, line: float, line_name: str) -> str:
    """Percent per day, with the warning line drawn across."""
    chart = pygal.Line(**_config(title, days), value_formatter=lambda v: f"{v:.2f} %",
                       show_dots=False, range=(0, max(line * 200, 0.5)))  # fmt: skip
    chart.x_labels = [_short(d) for d in days]
    for name, values in series:
        chart.add(name, [None if v is None else v * 100 for v in values],
                  stroke_style={"width": 3})  # fmt: skip
    chart.add(line_name, [line * 100] * len(days), stroke_style={"width": 3, "dasharray": "8,6"})
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))
