"""Writes abax.json, the demo company's ABAX trips (deterministic: same output on every run)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
HERE = Path(__file__).parent

# (address, latitude, longitude)
PLACES = {
    "oslo": ("Karl Johans gate 1, 0154 Oslo", 59.9117, 10.7500),
    "nydalen": ("Nydalsveien 28, 0484 Oslo", 59.9497, 10.7651),
    "lysaker": ("Lysaker torg 12, 1366 Lysaker", 59.9126, 10.6385),
    "drammen": ("Bragernes torg 2, 3017 Drammen", 59.7440, 10.2045),
    "sandefjord": ("Torget 2, 3210 Sandefjord", 59.1312, 10.2166),
    "tonsberg": ("Nedre Langgate 36, 3126 Tønsberg", 59.2676, 10.4076),
    "horten": ("Storgata 20, 3181 Horten", 59.4172, 10.4837),
    "moss": ("Dronningens gate 3, 1530 Moss", 59.4340, 10.6577),
    "fredrikstad": ("Nygaardsgata 14, 1606 Fredrikstad", 59.2181, 10.9298),
    "hamar": ("Strandgata 45, 2317 Hamar", 60.7945, 11.0680),
    "lillestrom": ("Storgata 1, 2000 Lillestrøm", 59.9560, 11.0504),
    "gardermoen": ("Edvard Munchs veg, 2061 Gardermoen", 60.1939, 11.1004),
    "kongsberg": ("Kirkegata 1, 3616 Kongsberg", 59.6689, 9.6502),
    "honefoss": ("Søndre torv 1, 3510 Hønefoss", 60.1680, 10.2560),
    "gjovik": ("Jernbanegata 2, 2821 Gjøvik", 60.7957, 10.6916),
    "ski": ("Jernbaneveien 2, 1400 Ski", 59.7195, 10.8358),
    "asker": ("Asker torg 1, 1383 Asker", 59.8331, 10.4392),
    "trysil": ("Storvegen 1, 2420 Trysil", 61.3142, 12.2635),
    "bergen": ("Bryggen 1, 5003 Bergen", 60.3971, 5.3245),
    "stord": ("Leirvik sentrum, 5411 Stord", 59.7800, 5.5000),
    "haugesund": ("Smedasundet 90, 5528 Haugesund", 59.4138, 5.2680),
}
# One-way km between places (a GPS logbook's distances, with decimals).
ROUTES = {
    ("oslo", "drammen"): 41.3,
    ("oslo", "sandefjord"): 118.4,
    ("oslo", "tonsberg"): 102.7,
    ("oslo", "fredrikstad"): 93.6,
    ("oslo", "hamar"): 124.9,
    ("oslo", "lillestrom"): 19.8,
    ("oslo", "gardermoen"): 48.2,
    ("oslo", "kongsberg"): 84.5,
    ("oslo", "honefoss"): 60.1,
    ("oslo", "gjovik"): 126.3,
    ("oslo", "ski"): 26.7,
    ("oslo", "asker"): 23.9,
    ("oslo", "moss"): 61.4,
    ("nydalen", "lysaker"): 11.2,
    ("horten", "moss"): 18.5,  # over the Moss-Horten ferry
    ("hamar", "trysil"): 142.6,
    ("bergen", "stord"): 74.9,  # Halhjem-Sandvikvåg ferry
    ("bergen", "haugesund"): 139.8,  # two ferries
}
PURPOSES = [
    "Kundemøte",
    "Befaring",
    "Service hos kunde",
    "Leveranse av utstyr",
    "Prosjektmøte",
    "Opplæring hos kunde",
    "Messe",
    "Montering",
]
TOLLS = {
    "drammen": 38.0,
    "sandefjord": 112.0,
    "tonsberg": 98.0,
    "fredrikstad": 76.0,
    "hamar": 86.0,
    "lillestrom": 34.0,
    "gardermoen": 44.0,
    "moss": 52.0,
}
FERRIES = {("horten", "moss"): 184.0, ("bergen", "stord"): 241.0, ("bergen", "haugesund"): 420.0}

Driver = dict[str, Any]
Vehicle = dict[str, Any]


def driver(driver_id: str, external_id: str | None, name: str) -> Driver:
    first = name.split()[0].lower()
    return {
        "id": driver_id,
        "external_id": external_id,
        "name": name,
        "phone_number": f"+47 4{driver_id[-4:]} {driver_id[-3:]}",
        "email": f"{first}@example.no",
    }


def vehicle(vehicle_id: str, alias: str, commercial_class: str = "Private") -> Vehicle:
    return {"id": vehicle_id, "alias": alias, "commercial_class": commercial_class}


# The demo organisations' ABAX API clients (development values, like the PowerOffice demo client keys).
API_CLIENTS = {
    "acme": ("acme-abax-client-4e7d", "acme-abax-secret-local-91f0c3"),
    "beta": ("beta-abax-client-2a9b", "beta-abax-secret-local-5d27e8"),
}


class Builder:
    def __init__(self, tenant_id: str, seed: int):
        self.tenant_id = tenant_id
        self.rng = random.Random(seed)
        self.trips: list[dict[str, Any]] = []
        self.expenses: list[dict[str, Any]] = []

    def trip(
        self,
        who: Driver,
        car: Vehicle,
        start_utc: datetime,
        route: tuple[str, str],
        *,
        trip_class: str = "BusinessTrip",
        purpose: str | None = None,
        back: bool = False,
        expense: dict[str, float] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        origin, destination = (route[1], route[0]) if back else route
        km = ROUTES[route]
        minutes = int(km / 70 * 60) + self.rng.randint(5, 20)
        finish = start_utc + timedelta(minutes=minutes)
        trip_id = f"t-{self.tenant_id}-{len(self.trips) + 1:04d}"
        if purpose is None:
            purpose = self.rng.choice(PURPOSES) if trip_class == "BusinessTrip" else ""
        record = {
            "id": trip_id,
            "vehicle": dict(car),
            "driver": dict(who),
            "start": _point(origin, start_utc),
            "finish": _point(destination, finish),
            "distance": km,
            "purpose": purpose,
            "notes": "",
            "duration": minutes * 60,
            "commercial_class": trip_class,
            "source": "Automatic",
        }
        self.trips.append(record)
        if expense or extra:
            self.expenses.append({"trip_id": trip_id, "expense": _expense(expense), "extra": _extra(extra)})
        return record

    def working_days(self, year: int, month: int, count: int) -> list[date]:
        days = [
            date(year, month, day)
            for day in range(1, 32)
            if _valid(year, month, day) and date(year, month, day).weekday() < 5
        ]
        return sorted(self.rng.sample(days, min(count, len(days))))

    def at(self, day: date, hour: int) -> datetime:
        local = datetime(
            day.year, day.month, day.day, hour, self.rng.choice([0, 5, 10, 15, 20, 30, 40, 45]), tzinfo=OSLO
        )
        return local.astimezone(UTC)

    def organisation(self) -> dict[str, Any]:
        # ABAX issues each customer organisation its own API client; its admin connects it in our app.
        client_id, client_secret = API_CLIENTS[self.tenant_id]
        return {
            "tenant_id": self.tenant_id,
            "client_id": client_id,
            "client_secret": client_secret,
            "trips": self.trips,
            "expenses": self.expenses,
        }


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _point(place: str, moment: datetime) -> dict[str, Any]:
    address, latitude, longitude = PLACES[place]
    return {
        "location": {
            "latitude": latitude,
            "longitude": longitude,
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signal_source": "Gps",
        },
        "address": address,
    }


def _expense(values: dict[str, float] | None) -> dict[str, float]:
    names = ("parking", "easy_park_private", "easy_park_corporate", "toll_road_admin", "toll_charge", "ferry")
    return {name: (values or {}).get(name, 0.0) for name in names}


def _extra(values: dict[str, Any] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "distance_with_passenger_in_km": 0.0,
        "passenger_name": None,
        "distance_with_trailer_in_km": 0.0,
        "distance_with_caravan_in_km": 0.0,
        "distance_with_bad_road_in_km": 0.0,
        "distance_with_heavy_load_in_km": 0.0,
        "distance_with_canteen_in_km": 0.0,
        "distance_with_dog_in_km": 0.0,
    }
    extra.update(values or {})
    return extra


def toll_for(route: tuple[str, str]) -> dict[str, float]:
    charge = TOLLS.get(route[1])
    return {"toll_charge": charge, "toll_road_admin": 4.5} if charge else {}


def business_month(
    builder: Builder,
    who: Driver,
    car: Vehicle,
    year: int,
    month: int,
    routes: list[tuple[str, str]],
    count: int,
    extras: dict[int, dict[str, Any]] | None = None,
) -> None:
    """count trips on working days, alternating out and back; extras by trip index add expenses/supplements."""
    for index, day in enumerate(builder.working_days(year, month, count)):
        route = routes[index % len(routes)]
        back = index % 2 == 1
        expense: dict[str, float] = dict(toll_for(route)) if not back else {}
        extra: dict[str, Any] = {}
        for key, value in (extras or {}).get(index, {}).items():
            (extra if key.startswith("distance_") or key == "passenger_name" else expense)[key] = value
        builder.trip(
            who,
            car,
            builder.at(day, builder.rng.randint(7, 14)),
            route,
            back=back,
            expense=expense,
            extra=extra,
        )


def acme() -> dict[str, Any]:
    b = Builder("acme", seed=1001)
    ola, kari, per = (
        driver("d-1001", "1001", "Ola Nordmann"),
        driver("d-1002", "1002", "Kari Hansen"),
        driver("d-1003", "1003", "Per Olsen"),
    )
    nils, lise = driver("d-1004", None, "Nils Bakke"), driver("d-1099", "1099", "Lise Moe")
    golf, tesla, passat = (
        vehicle("v-101", "Olas Golf"),
        vehicle("v-102", "Karis Model Y"),
        vehicle("v-103", "Pers Passat"),
    )
    hilux, polo = vehicle("v-104", "Nils' Hilux"), vehicle("v-199", "Lises Polo")
    company_car = vehicle("v-900", "Firmabil ID.4", "Company")

    passengers = {"distance_with_passenger_in_km": 118.4, "passenger_name": "Kari Hansen, Per Olsen"}
    business_month(
        b,
        ola,
        golf,
        2026,
        10,
        [("oslo", "sandefjord"), ("oslo", "drammen"), ("oslo", "lillestrom")],
        12,
        {
            0: passengers,
            3: {"parking": 90.0, "easy_park_private": 35.5},
            6: {"easy_park_corporate": 120.0},
            8: {"distance_with_passenger_in_km": 19.8, "passenger_name": "Kari Hansen"},
            10: {"parking": 45.0},
        },
    )
    business_month(
        b,
        kari,
        tesla,
        2026,
        10,
        [("oslo", "hamar"), ("oslo", "fredrikstad"), ("oslo", "gardermoen")],
        11,
        {
            3: {"distance_with_trailer_in_km": 124.9},
            4: {"distance_with_caravan_in_km": 80.0, "distance_with_trailer_in_km": 10.0},
            5: {"easy_park_private": 62.0, "easy_park_corporate": 48.0},
            7: {"parking": 150.0},
        },
    )
    business_month(
        b,
        per,
        passat,
        2026,
        10,
        [("horten", "moss"), ("oslo", "tonsberg"), ("oslo", "kongsberg")],
        10,
        {
            0: {"ferry": 184.0},
            3: {"ferry": 184.0},
            9: {"ferry": 184.0},
            2: {"distance_with_bad_road_in_km": 7.4},
            5: {"distance_with_bad_road_in_km": 12.3},
            6: {"ferry": 184.0},
        },
    )
    business_month(
        b,
        nils,
        hilux,
        2026,
        10,
        [("oslo", "honefoss"), ("oslo", "gjovik"), ("oslo", "ski")],
        9,
        {0: {"distance_with_heavy_load_in_km": 60.1}, 4: {"distance_with_bad_road_in_km": 4.2}},
    )
    business_month(
        b,
        lise,
        polo,
        2026,
        10,
        [("oslo", "asker"), ("oslo", "moss"), ("nydalen", "lysaker")],
        8,
        {1: {"parking": 60.0}, 3: {"easy_park_private": 27.0}},
    )

    # Ola borrows the company car now and then: those trips are never reimbursed.
    for day, route in (
        (date(2026, 10, 13), ("oslo", "hamar")),
        (date(2026, 10, 14), ("oslo", "hamar")),
        (date(2026, 10, 27), ("oslo", "kongsberg")),
    ):
        b.trip(ola, company_car, b.at(day, 8), route, back=day.day == 14, expense=toll_for(route))
    # Private trips and commutes in private cars: logged, never reimbursed.
    b.trip(ola, golf, b.at(date(2026, 10, 10), 11), ("oslo", "asker"), trip_class="PrivateTrip")
    b.trip(
        kari,
        tesla,
        b.at(date(2026, 10, 17), 10),
        ("oslo", "lillestrom"),
        trip_class="PrivateTrip",
        expense={"parking": 40.0},
    )
    b.trip(per, passat, b.at(date(2026, 10, 5), 7), ("oslo", "ski"), trip_class="Commute")
    b.trip(lise, polo, b.at(date(2026, 10, 6), 7), ("nydalen", "lysaker"), trip_class="Commute")
    # A night departure: 1 October 00:45 in Oslo is still 30 September in UTC.
    b.trip(
        per,
        passat,
        datetime(2026, 9, 30, 22, 45, tzinfo=UTC),
        ("oslo", "gardermoen"),
        purpose="Henting av kunde på Gardermoen",
        expense={"toll_charge": 44.0, "toll_road_admin": 4.5, "parking": 85.0},
    )
    # 31 October 23:30 UTC is 1 November 00:30 in Oslo: a November trip.
    b.trip(
        kari,
        tesla,
        datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
        ("oslo", "gardermoen"),
        purpose="Henting av utstyr på Gardermoen",
        expense={"toll_charge": 44.0, "toll_road_admin": 4.5},
    )

    business_month(
        b, ola, golf, 2026, 11, [("oslo", "drammen"), ("oslo", "sandefjord")], 4, {1: {"parking": 45.0}}
    )
    business_month(b, kari, tesla, 2026, 11, [("oslo", "hamar")], 3)
    # December 2025 and January 2026 for Ola: an export across the 1 January 2026 rate change.
    business_month(
        b, ola, golf, 2025, 12, [("oslo", "drammen"), ("oslo", "fredrikstad")], 6, {2: {"parking": 70.0}}
    )
    b.trip(
        ola,
        golf,
        datetime(2025, 12, 31, 9, 0, tzinfo=UTC),
        ("oslo", "lillestrom"),
        purpose="Årsavslutning hos kunde",
    )
    b.trip(
        ola,
        golf,
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        ("oslo", "lillestrom"),
        purpose="Vakt hos kunde",
        back=True,
    )
    business_month(
        b, ola, golf, 2026, 1, [("oslo", "drammen"), ("oslo", "kongsberg")], 6, {1: {"parking": 45.0}}
    )
    return b.organisation()


def beta() -> dict[str, Any]:
    b = Builder("beta", seed=2001)
    anne, jonas = driver("d-2001", "2001", "Anne Lie"), driver("d-2002", "2002", "Jonas Dahl")
    business_month(
        b,
        anne,
        vehicle("v-201", "Annes Yaris"),
        2026,
        10,
        [("bergen", "stord"), ("bergen", "haugesund")],
        9,
        {0: {"ferry": 241.0}, 1: {"ferry": 420.0}, 3: {"ferry": 420.0}},
    )
    business_month(
        b,
        jonas,
        vehicle("v-202", "Jonas' Outback"),
        2026,
        10,
        [("hamar", "trysil"), ("oslo", "hamar")],
        8,
        {0: {"distance_with_bad_road_in_km": 18.0}, 2: {"distance_with_trailer_in_km": 142.6}},
    )
    return b.organisation()


def build() -> dict[str, Any]:
    return {"organizations": [acme(), beta()]}


if __name__ == "__main__":
    target = HERE / "abax.json"
    target.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    organisations = build()["organizations"]
    print(f"wrote {target}: " + ", ".join(f"{o['tenant_id']} {len(o['trips'])} trips" for o in organisations))
