"""The eight reimbursement categories and what each of them counts."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    MILEAGE = "mileage"
    PASSENGER = "passenger"
    TRAILER = "trailer"
    FOREST_ROAD = "forest_road"
    HEAVY_LOAD = "heavy_load"
    TOLL = "toll"
    PARKING = "parking"
    FERRY = "ferry"

    @property
    def is_distance(self) -> bool:
        """Paid per km at a rate (as opposed to an outlay refunded at cost)."""
        return self in DISTANCE_CATEGORIES

    @property
    def unit(self) -> str:
        if self is Category.PASSENGER:
            return "passenger-km"
        return "km" if self.is_distance else "NOK"

    @property
    def label_no(self) -> str:
        return LABELS_NO[self]


DISTANCE_CATEGORIES = frozenset(
    {Category.MILEAGE, Category.PASSENGER, Category.TRAILER, Category.FOREST_ROAD, Category.HEAVY_LOAD}
)
OUTLAY_CATEGORIES = frozenset({Category.TOLL, Category.PARKING, Category.FERRY})
ALL_CATEGORIES: tuple[Category, ...] = tuple(Category)

LABELS_NO = {
    Category.MILEAGE: "Kilometergodtgjørelse",
    Category.PASSENGER: "Passasjertillegg",
    Category.TRAILER: "Tilhenger/campingvogn",
    Category.FOREST_ROAD: "Skogs-/anleggsvei",
    Category.HEAVY_LOAD: "Tungt utstyr",
    Category.TOLL: "Bompenger",
    Category.PARKING: "Parkering",
    Category.FERRY: "Ferje",
}
