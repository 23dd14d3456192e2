"""Per-km rates by category and date: the rates paid and the tax-free rates, each default covering its year.

Source: the state rates ("statens satser", Særavtalen for reiser innenlands) and Skatteetaten's tax-free
rates for 2024-2026. Each year's rates are agreed anew, so a default rate covers its own year only: a trip
on a date no rate covers has no rate (RATE_MISSING) until the company adds that year's rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .categories import DISTANCE_CATEGORIES, Category

SUPPLEMENTS = (Category.PASSENGER, Category.TRAILER, Category.FOREST_ROAD, Category.HEAVY_LOAD)
STATE_YEARS = (2024, 2025, 2026)
# How the passenger supplement is paid: per passenger and km, or per km whatever the number of passengers.
# The default is per passenger: Skatteetaten's tax-free table counts it so, and the state agreement (Særavtale
# om dekning av utgifter til reise og kost innenlands § 6 nr. 3 a) is restated so by employers following it
# from 1.1.2019 ("kr 1,00 pr. km per passasjer"); no text of the agreement saying "per km whatever the number
# of passengers" was found. Whatever a company pays, the tax-free part counts per passenger (README, 4b).
PER_PASSENGER = "per_passenger"
PER_KM = "per_km"
PASSENGER_BASES = (PER_PASSENGER, PER_KM)


class RateMissing(LookupError):
    """No rate is in force for a km category on a date."""

    def __init__(self, category: Category, day: date, table: str = "paid"):
        self.category, self.day, self.table = category, day, table
        kind = "tax-free rate" if table == "tax_free" else "rate"
        super().__init__(f"no {category} {kind} in force on {day}")


@dataclass(frozen=True, slots=True, order=True)
class Rate:
    category: Category
    valid_from: date
    rate: Decimal
    valid_to: date | None = None  # inclusive; None: until the next rate of the category, or for good

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _yearly(values: dict[Category, dict[int, str]]) -> tuple[Rate, ...]:
    return tuple(
        sorted(
            Rate(category, date(year, 1, 1), Decimal(value), date(year, 12, 31))
            for category, by_year in values.items()
            for year, value in by_year.items()
        )
    )


# Paid: own car 4.90 / 5.00 / 5.30; every supplement 1.00 per km (passenger: per passenger).
STATE_RATES: tuple[Rate, ...] = _yearly(
    {
        Category.MILEAGE: {2024: "4.90", 2025: "5.00", 2026: "5.30"},
        **{category: dict.fromkeys(STATE_YEARS, "1.00") for category in SUPPLEMENTS},
    }
)
# Tax-free ("trekkfri"): 3.50 per km for the car whatever the distance; the state supplements are tax-free.
TAX_FREE_RATES: tuple[Rate, ...] = _yearly(
    {
        Category.MILEAGE: dict.fromkeys(STATE_YEARS, "3.50"),
        **{category: dict.fromkeys(STATE_YEARS, "1.00") for category in SUPPLEMENTS},
    }
)


class RateTable:
    """Rates by category and validity: a trip is paid at the rate in force on its date; the paid table also
    says whether the passenger supplement is paid per passenger (the default) or per km.

    A rate without `valid_to` lasts until the next rate of its category starts (or for good when it is the
    last); one with `valid_to` ends on that day, and the days after it have no rate unless another covers them.
    """

    def __init__(self, rates: Iterable[Rate], table: str = "paid", passenger_basis: str = PER_PASSENGER):
        if passenger_basis not in PASSENGER_BASES:
            raise ValueError(
                f"passenger supplement is paid {' or '.join(PASSENGER_BASES)}, not {passenger_basis!r}"
            )
        self.table = table
        self.passenger_basis = passenger_basis
        by_category: dict[Category, list[Rate]] = {}
        for rate in sorted(rates):
            if not rate.category.is_distance:
                raise ValueError(f"{rate.category} is an outlay category and has no km rate")
            if rate.rate < 0:
                raise ValueError(f"rate for {rate.category} from {rate.valid_from} is negative")
            if rate.valid_to is not None and rate.valid_to < rate.valid_from:
                raise ValueError(
                    f"rate for {rate.category} from {rate.valid_from} ends before it starts ({rate.valid_to})"
                )
            entries = by_category.setdefault(rate.category, [])
            if entries and entries[-1].valid_from == rate.valid_from:
                raise ValueError(f"two rates for {rate.category} from {rate.valid_from}")
            if entries and entries[-1].valid_to is not None and entries[-1].valid_to >= rate.valid_from:
                raise ValueError(
                    f"two {rate.category} rates cover {rate.valid_from}: one from {entries[-1].valid_from} "
                    f"to {entries[-1].valid_to} and one from {rate.valid_from}"
                )
            entries.append(rate)
        self._rates = by_category

    @classmethod
    def default(cls) -> RateTable:
        return cls(STATE_RATES)

    @classmethod
    def default_tax_free(cls) -> RateTable:
        return cls(TAX_FREE_RATES, table="tax_free")

    @property
    def per_passenger(self) -> bool:
        return self.passenger_basis == PER_PASSENGER

    def find(self, category: Category, day: date) -> Rate | None:
        """The entry in force on the day: the latest that started on or before it, if it still covers it."""
        in_force = None
        for rate in self._rates.get(category, ()):
            if rate.valid_from > day:
                break
            in_force = rate
        return in_force if in_force is not None and in_force.covers(day) else None

    def rate_for(self, category: Category, day: date) -> Decimal:
        rate = self.find(category, day)
        if rate is None:
            raise RateMissing(category, day, self.table)
        return rate.rate

    def entries(self) -> list[Rate]:
        return [rate for category in sorted(self._rates) for rate in self._rates[category]]

    def missing_categories(self) -> set[Category]:
        return set(DISTANCE_CATEGORIES) - set(self._rates)

    def uncovered(self, first: date, last: date) -> list[Category]:
        """Km categories that lack a rate on some day from first to last (each rate's start and end checked)."""
        missing = []
        for category in sorted(DISTANCE_CATEGORIES, key=list(Category).index):
            day = first
            while day <= last:
                rate = self.find(category, day)
                if rate is None:
                    missing.append(category)
                    break
                if rate.valid_to is None:
                    later = [r.valid_from for r in self._rates[category] if r.valid_from > day]
                    if not later:
                        break
                    day = later[0]
                else:
                    day = date.fromordinal(rate.valid_to.toordinal() + 1)
        return missing
