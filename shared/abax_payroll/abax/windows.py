"""What one ABAX Open API request may ask for: the date windows of a trips query, the trip ids of an expense call.

Apart from the HTTP client (abax/client.py) so that code planning a fetch does not import httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

EXPENSE_BATCH = 150  # at most 150 trip ids per expense call
# "At most 3 months apart": the shortest 3-month span (e.g. 1 Feb to 1 May) is 89 days, so a window whose
# date_to is at most 88 days after date_from (89 dates inclusive) is accepted whatever the month lengths.
WINDOW_DAYS = 89
# The API's day boundaries are not documented (most likely UTC dates). A trip starting between midnight and
# 02:00 Oslo time on the first day of the period has the previous UTC date, so ask for one extra day at each
# end and let the adapter keep only the trips whose Oslo date is in the period.
EDGE_DAYS = 1


def date_windows(first: date, last: date, max_days: int) -> Iterator[tuple[date, date]]:
    """Consecutive (date_from, date_to) windows of at most max_days dates each, covering first..last."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        yield start, end
        start = end + timedelta(days=1)
