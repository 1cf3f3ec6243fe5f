"""The complaint-rate chart of an account's page, as server-rendered SVG figures (no script)."""
from __future__ import annotations

from dataclasses import dataclass

from portal.complaints.rates import Day

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 56, 28, 12


@dataclass(frozen=True)
class Chart:
    """What the template draws: the polyline of daily rates, threshold lines, axis labels."""

    points: str
    dots: list[tuple[float, float, str]]
    lines: list[tuple[str, float, str]]
    ticks: list[tuple[float, str]]
    labels: list[tuple[float, str]]
    top: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM


def build(days: list[Day], limits: dict[str, float]) -> Chart:
    """Scale the daily rates and the policy's lines into the SVG's box."""
    top = max([day.rate or 0 for day in days] + list(limits.values())) * 1.15 or 0.01
    span_x = (WIDTH - LEFT - 10) / max(len(days) - 1, 1)

    def y(value: float) -> float:
        return round(TOP + (HEIGHT - BOTTOM - TOP) * (1 - value / top), 1)

    def x(index: int) -> float:
        return round(LEFT + index * span_x, 1)

    measured = [(x(i), y(day.rate), f"{day.day.isoformat()}: {day.rate * 100:.2f}%")
                for i, day in enumerate(days) if day.rate is not None]
    return Chart(points=" ".join(f"{px},{py}" for px, py, _ in measured), dots=measured,
                 lines=[(name, y(value), f"{value * 100:.2f}%") for name, value in limits.items()],
                 ticks=[(y(top * share), f"{top * share * 100:.2f}%") for share in (0, 0.5, 1)],
                 labels=[(x(i), day.day.strftime("%d %b")) for i, day in enumerate(days) if i % 7 == 0],
                 top=top)
