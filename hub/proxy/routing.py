"""Model name → provider, exactly as DESIGN.md says and nothing fancier."""

from __future__ import annotations

from dataclasses import dataclass

from hub.config import HubConfig, ModelConfig, ProviderConfig
from hub.core.errors import NotFoundError


@dataclass(frozen=True)
class Route:
    model_key: str
    provider: ProviderConfig
    upstream_model: str
    model: ModelConfig | None

    @property
    def max_context(self) -> int | None:
        return self.model.max_context if self.model else None


class ModelRouter:
    def __init__(self, config: HubConfig) -> None:
        self._providers = {n: p for n, p in config.providers.items() if p.enabled}
        self._models = {k: m for k, m in config.models.items() if m.provider in self._providers}

    @property
    def models(self) -> dict[str, ModelConfig]:
        return self._models

    def resolve(self, name: str) -> Route:
        """Exact key in [models], else ``provider/model`` split on the first '/'."""
        model = self._models.get(name)
        if model is not None:
            return Route(name, self._providers[model.provider], model.model, model)
        provider_name, sep, upstream = name.partition("/")
        provider = self._providers.get(provider_name)
        if sep and upstream and provider is not None:
            return Route(name, provider, upstream, None)
        known = ", ".join(sorted(self._models)) or "aucun"
        raise NotFoundError(
            f"Modèle « {name} » inconnu. Modèles configurés : {known}.",
            code="model_not_found",
        )
