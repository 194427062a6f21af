"""Costs as people read them: rounded to ``COST_DECIMALS`` decimal places.

Prices are per million tokens, so one token of a price given with up to four decimals
costs at most ten decimals: rounding there keeps every cost exact and drops the binary
float noise of products and sums (``0.0034100000000000016`` reads ``0.00341``).
"""

from __future__ import annotations

COST_DECIMALS = 10


def money(value: float) -> float:
    return round(value, COST_DECIMALS)
