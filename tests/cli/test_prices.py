"""Built-in prices: used when config.toml gives none, overridden when it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.config.prices import PRICES, builtin_price

MODELS = """
[providers.p]
base_url = "http://127.0.0.1:9/v1"

[models.dated]
provider = "p"
model = "gpt-4o-2024-08-06"

[models.mini]
provider = "p"
model = "GPT-4o-mini"

[models.priced]
provider = "p"
model = "deepseek-chat"
input_price = 9.0

[models.unknown]
provider = "p"
model = "maison-7b"
"""


def test_config_prices_win_over_the_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MODELS)
    models = load_config(path, {}).models
    assert (models["dated"].input_price, models["dated"].output_price) == (2.5, 10.0)
    assert models["mini"].input_price == PRICES["gpt-4o-mini"].input
    assert models["priced"].input_price == 9.0
    assert models["priced"].output_price == PRICES["deepseek-chat"].output
    assert models["priced"].cached_input_price == PRICES["deepseek-chat"].cached_input
    assert models["unknown"].cached_input_price is None
    assert (models["unknown"].input_price, models["unknown"].output_price) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("o3-2025-04-16", "o3"),
        ("gpt-4", None),
        ("", None),
        ("o3mini", None),
    ],
)
def test_lookup(name: str, expected: str | None) -> None:
    assert builtin_price(name) == (PRICES[expected] if expected else None)


def test_table_is_sane() -> None:
    for name, price in PRICES.items():
        assert name == name.lower()
        assert 0 < price.cached_input <= price.input < price.output
