"""Printing: progress lines while a benchmark runs, one summary table at the end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    value: float
    unit: str
    note: str = ""


def say(message: str) -> None:
    # Flushed at once: a long run should show where it is, also when piped to a file.
    print(message, flush=True)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def _format_value(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def print_table(rows: list[Row]) -> None:
    header = ("benchmark", "metric", "value", "unit", "note")
    cells = [
        (row.benchmark, row.metric, _format_value(row.value), row.unit, row.note) for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *cells]) for i in range(4)]
    rule = "-+-".join("-" * width for width in widths) + "-+-" + "-" * 4
    say("")
    say("SUMMARY")
    for n, line in enumerate([header, *cells]):
        name, metric, value, unit, note = line
        say(
            f"{name:<{widths[0]}} | {metric:<{widths[1]}} | {value:>{widths[2]}} | "
            f"{unit:<{widths[3]}} | {note}"
        )
        if n == 0:
            say(rule)
