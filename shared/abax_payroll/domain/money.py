"""Decimal helpers: money and distances are Decimal end to end, rounded half-up after summing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")


def round2(value: Decimal) -> Decimal:
    """Half-up to two decimals, the way payroll people round."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt2(value: Decimal) -> str:
    """Serialise as a string with exactly two decimals (this system's API format)."""
    return str(round2(value))


def to_decimal(value: object) -> Decimal:
    """Exact Decimal from JSON numbers or strings; floats go through str() so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation as error:
            raise ValueError(f"not a number: {value!r}") from error
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result
