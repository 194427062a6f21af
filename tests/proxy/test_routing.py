from pathlib import Path

import pytest

from hub.config import parse_config
from hub.core.errors import NotFoundError
from hub.proxy.routing import ModelRouter

CONFIG = """
[providers.kimi]
base_url = "http://k/v1"
[providers.off]
enabled = false
base_url = "http://o/v1"
[models."kimi/fast"]
provider = "kimi"
model = "kimi-k2-turbo"
max_context = 1000
[models."alias"]
provider = "kimi"
model = "kimi-k2"
"""


@pytest.fixture
def router() -> ModelRouter:
    return ModelRouter(parse_config(CONFIG, Path("/tmp/c.toml"), {}))


def test_exact_key_wins(router: ModelRouter) -> None:
    route = router.resolve("kimi/fast")
    assert (route.provider.name, route.upstream_model, route.max_context) == (
        "kimi", "kimi-k2-turbo", 1000,
    )  # fmt: skip
    assert router.resolve("alias").upstream_model == "kimi-k2"


def test_provider_split_on_first_slash(router: ModelRouter) -> None:
    route = router.resolve("kimi/org/model-x")
    assert route.provider.name == "kimi"
    assert route.upstream_model == "org/model-x"
    assert route.model is None


@pytest.mark.parametrize("name", ["gpt-4", "unknown/model", "kimi/", "/x", "off/m", "KIMI/fast"])
def test_unknown_models_list_the_configured_ones(router: ModelRouter, name: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        router.resolve(name)
    assert caught.value.code == "model_not_found"
    assert "kimi/fast" in caught.value.message and "alias" in caught.value.message
