"""Synthetic companies for load and concurrency tests: ABAX organisations and PowerOffice Go clients that match."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from local.stack import demo_data


def client_key(tenant: str) -> str:
    return f"{tenant}-load-client-key"


def companies(
    tenants: list[str], employees: int, trips_per_employee: int = 3, month: str = "2026-10"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each employee drives `trips_per_employee` business trips with a toll: two salary lines per employee."""
    template = next(
        c for c in demo_data("poweroffice.json")["clients"] if c["client_key"] == "acme-demo-client-key-7f3a"
    )
    abax: dict[str, Any] = {"organizations": []}
    poweroffice: dict[str, Any] = {"clients": []}
    start = datetime.fromisoformat(f"{month}-02T07:00:00+00:00")
    for t, tenant in enumerate(tenants):
        trips, expenses, staff = [], [], []
        for e in range(employees):
            number = 3000 + e
            staff.append(
                {
                    "Id": 900000 + t * 1000 + e,
                    "Number": number,
                    "FirstName": f"Ansatt{e}",
                    "LastName": tenant.title(),
                    "IsArchived": False,
                }
            )
            for n in range(trips_per_employee):
                trip_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{e}/{n}"))
                began = start + timedelta(days=n, minutes=e)
                trips.append(
                    {
                        "id": trip_id,
                        "vehicle": {
                            "id": f"{tenant}-v-{e}",
                            "alias": "Egen bil",
                            "commercial_class": "Private",
                        },
                        "driver": {
                            "id": f"{tenant}-d-{e}",
                            "external_id": str(number),
                            "name": f"Ansatt{e} {tenant.title()}",
                        },
                        "start": {
                            "location": {
                                "latitude": 59.9,
                                "longitude": 10.7,
                                "timestamp": began.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                            },
                            "address": "Oslo",
                        },
                        "finish": {
                            "location": {
                                "latitude": 59.1,
                                "longitude": 10.2,
                                "timestamp": (began + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                            },
                            "address": "Sandefjord",
                        },
                        "distance": 42.5 + n,
                        "purpose": "Kundemøte",
                        "commercial_class": "BusinessTrip",
                    }
                )
                expenses.append(
                    {
                        "trip_id": trip_id,
                        "expense": {"toll_charge": 35.0, "toll_road_admin": 2.5},
                        "extra": {},
                    }
                )
        abax["organizations"].append(
            {
                "tenant_id": tenant,
                "client_id": f"{tenant}-abax-client",
                "client_secret": f"{tenant}-abax-secret",
                "trips": trips,
                "expenses": expenses,
            }
        )
        client = copy.deepcopy(template)
        client.update(
            {"client_key": client_key(tenant), "client_name": f"{tenant.title()} AS", "employees": staff}
        )
        poweroffice["clients"].append(client)
    return abax, poweroffice
