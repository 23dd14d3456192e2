"""Which part of a trip's km allowance may be tax-free: only what the trip's documentation supports.

Skatte-ABC (A-13-3.7.1, bilgodtgjørelse): the allowance is trekkfri only when its conditions, the travel claim's
documentation included, are met; otherwise the whole allowance is trekkpliktig. Altinn ("Krav til reiserekning")
and skattebetalingsforskriften § 5-6-12 list what the claim holds: purpose, the route with start and end, and
the passengers' names. So a trip without a purpose or a start or end place has no tax-free part (its km and
supplements are taxable), and passenger km without names have no tax-free supplement.
"""

from __future__ import annotations

from decimal import Decimal

from .categories import Category
from .money import ZERO
from .trips import Trip

UNDOCUMENTED_TAXABLE = "taxable"  # paid, counted as taxable, with a warning (the default)
UNDOCUMENTED_BLOCK = "block"  # a blocking problem until the trip is documented in ABAX
UNDOCUMENTED_POLICIES = (UNDOCUMENTED_TAXABLE, UNDOCUMENTED_BLOCK)


def tax_free_rate(trip: Trip, category: Category, free: Decimal, per_passenger: bool = True) -> Decimal:
    """The tax-free rate per counted unit of a trip's km category, given the tax-free table's rate `free`.

    When the company pays the passenger supplement per km (`per_passenger` False), the tax-free part still
    counts per passenger: each counted km carries `free` × the number of passengers.
    """
    if trip.missing_documentation:
        return ZERO
    if category is Category.PASSENGER:
        if trip.passengers_unnamed:
            return ZERO
        if not per_passenger:
            return free * trip.passenger_count
    return free
