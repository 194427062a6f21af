"""Built-in prices (USD per million tokens) for common upstream models.

Used when ``[models.X]`` gives no ``input_price`` / ``output_price``; a configured price
always wins. Matched on the upstream model name (``model``): exactly, else the longest
entry followed by ``-`` (dated variants such as ``gpt-4o-2024-08-06``). Sources and the
date they were read: docs/PRICES.md. Subscriptions (Kimi Code) are not priced here.
"""

from __future__ import annotations

from typing import NamedTuple


class Price(NamedTuple):
    input: float
    output: float
    cached_input: float


PRICES: dict[str, Price] = {
    # OpenAI (platform.openai.com/docs/pricing)
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "o3": Price(2.00, 8.00, 0.50),
    "o4-mini": Price(1.10, 4.40, 0.275),
    # DeepSeek (api-docs.deepseek.com/quick_start/pricing, prices from 2025-09-05)
    "deepseek-chat": Price(0.56, 1.68, 0.07),
    "deepseek-reasoner": Price(0.56, 1.68, 0.07),
    # Moonshot / Kimi API (platform.moonshot.ai pricing)
    "kimi-k2-0905-preview": Price(0.60, 2.50, 0.15),
    "kimi-k2-0711-preview": Price(0.60, 2.50, 0.15),
    "kimi-k2-turbo-preview": Price(1.15, 8.00, 0.15),
    "kimi-k2-thinking": Price(0.60, 2.50, 0.15),
}


def builtin_price(model: str) -> Price | None:
    name = model.strip().lower()
    if name in PRICES:
        return PRICES[name]
    prefixes = [key for key in PRICES if name.startswith(key + "-")]
    return PRICES[max(prefixes, key=len)] if prefixes else None
