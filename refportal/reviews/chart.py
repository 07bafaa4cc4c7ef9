"""The matrix as a bar chart, laid out here so the template only draws.

Every word and number of the chart (domain labels, the scale's ticks, the legend) is HTML text, so its
contrast is that of the page's own text and any checker can measure it; the bars, the grid and the
mean marks are one small SVG per domain, stretched to the width of the plot column (the x axis runs
from 0 to `plot_width`, `POINT_WIDTH` units per scale point; heights are in pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

from refportal.references.rating_form import DOMAINS, SCALE
from refportal.reviews.aggregation import Matrix

POINT_WIDTH = 60  # x units per scale point
BAR_HEIGHT = 12
BAR_GAP = 3
ROW_PADDING = 12


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    series: int  # which referee (for the colour)
    text: str  # for the <title>


@dataclass(frozen=True)
class Row:
    label: str
    height: int
    bars: tuple[Bar, ...]
    mean_x: int | None


@dataclass(frozen=True)
class Chart:
    plot_width: int
    rows: tuple[Row, ...]
    ticks: tuple[tuple[int, str], ...]  # (x, label): a grid line in each row, the label above the plot
    legend: tuple[tuple[int, str], ...]


def build_chart(matrix: Matrix) -> Chart:
    top_score = len(SCALE)
    series = len(matrix.columns) or 1
    row_height = series * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_PADDING
    rows = []
    for domain in DOMAINS:
        bars = []
        for index, column in enumerate(matrix.columns):
            cell = column.cells[domain.key]
            if cell.mean is None:
                continue
            bars.append(
                Bar(
                    0,
                    ROW_PADDING // 2 + index * (BAR_HEIGHT + BAR_GAP),
                    round(cell.mean * POINT_WIDTH),
                    index,
                    f"{column.reference.name}: {cell.mean:.2f}",
                )
            )
        mean = matrix.domain_means[domain.key]
        rows.append(
            Row(str(domain.title), row_height, tuple(bars), None if mean is None else round(mean * POINT_WIDTH))
        )
    ticks = tuple((n * POINT_WIDTH, str(n)) for n in range(top_score + 1))
    legend = tuple((index, column.reference.name) for index, column in enumerate(matrix.columns))
    return Chart(top_score * POINT_WIDTH, tuple(rows), ticks, legend)
