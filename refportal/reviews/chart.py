"""The matrix as an inline SVG bar chart, laid out here so the template only draws."""

from __future__ import annotations

from dataclasses import dataclass

from refportal.references.rating_form import DOMAINS, SCALE
from refportal.reviews.aggregation import Matrix

LABEL_WIDTH = 240
POINT_WIDTH = 60  # pixels per scale point
BAR_HEIGHT = 12
BAR_GAP = 3
ROW_PADDING = 12
TOP = 24


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
    y: int
    height: int
    bars: tuple[Bar, ...]
    mean_x: int | None


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: tuple[Row, ...]
    ticks: tuple[tuple[int, str], ...]
    legend: tuple[tuple[int, str], ...]
    plot_x: int


def build_chart(matrix: Matrix) -> Chart:
    top_score = len(SCALE)
    series = len(matrix.columns) or 1
    row_height = series * (BAR_HEIGHT + BAR_GAP) + ROW_PADDING
    rows, y = [], TOP
    for domain in DOMAINS:
        bars = []
        for index, column in enumerate(matrix.columns):
            cell = column.cells[domain.key]
            if cell.mean is None:
                continue
            bars.append(
                Bar(
                    LABEL_WIDTH,
                    y + index * (BAR_HEIGHT + BAR_GAP),
                    round(cell.mean * POINT_WIDTH),
                    index,
                    f"{column.reference.name}: {cell.mean:.2f}",
                )
            )
        mean = matrix.domain_means[domain.key]
        rows.append(
            Row(
                str(domain.title),
                y,
                row_height,
                tuple(bars),
                None if mean is None else LABEL_WIDTH + round(mean * POINT_WIDTH),
            )
        )
        y += row_height
    ticks = tuple((LABEL_WIDTH + n * POINT_WIDTH, str(n)) for n in range(top_score + 1))
    legend = tuple((index, column.reference.name) for index, column in enumerate(matrix.columns))
    return Chart(LABEL_WIDTH + top_score * POINT_WIDTH + 20, y + 10, tuple(rows), ticks, legend, LABEL_WIDTH)
