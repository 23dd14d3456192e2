"""Per-km rates by category and date; the default table is the state rates ("statens satser") 2024-2026."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .categories import DISTANCE_CATEGORIES, Category


class RateMissing(LookupError):
    """No rate is in force for a km category on a date."""


@dataclass(frozen=True, slots=True, order=True)
class Rate:
    category: Category
    valid_from: date
    rate: Decimal


def _state_rates() -> tuple[Rate, ...]:
    own_car = {2024: "4.90", 2025: "5.00", 2026: "5.30"}
    rates = [Rate(Category.MILEAGE, date(year, 1, 1), Decimal(value)) for year, value in own_car.items()]
    for category in (Category.PASSENGER, Category.TRAILER, Category.FOREST_ROAD, Category.HEAVY_LOAD):
        rates.append(Rate(category, date(2024, 1, 1), Decimal("1.00")))
    return tuple(sorted(rates))


STATE_RATES: tuple[Rate, ...] = _state_rates()


class RateTable:
    """Rates keyed by valid_from: a trip is paid at the rate in force on its date."""

    def __init__(self, rates: Iterable[Rate]):
        by_category: dict[Category, list[Rate]] = {}
        for rate in sorted(rates):
            if not rate.category.is_distance:
                raise ValueError(f"{rate.category} is an outlay category and has no km rate")
            if rate.rate < 0:
                raise ValueError(f"rate for {rate.category} from {rate.valid_from} is negative")
            entries = by_category.setdefault(rate.category, [])
            if entries and entries[-1].valid_from == rate.valid_from:
                raise ValueError(f"two rates for {rate.category} from {rate.valid_from}")
            entries.append(rate)
        self._rates = by_category
        self._starts = {category: [r.valid_from for r in entries] for category, entries in by_category.items()}

    @classmethod
    def default(cls) -> RateTable:
        return cls(STATE_RATES)

    def rate_for(self, category: Category, day: date) -> Decimal:
        starts = self._starts.get(category, [])
        index = bisect_right(starts, day) - 1
        if index < 0:
            raise RateMissing(f"no {category} rate in force on {day}")
        return self._rates[category][index].rate

    def entries(self) -> list[Rate]:
        return [rate for category in sorted(self._rates) for rate in self._rates[category]]

    def missing_categories(self) -> set[Category]:
        return set(DISTANCE_CATEGORIES) - set(self._rates)
