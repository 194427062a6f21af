"""Model name → provider: a configured model key, or ``provider/model``, nothing fancier.

``provider/model`` naming a configured model's provider and upstream model is that
configured model (its key, prices, limits): a name the client picks must not change
what a request costs. Otherwise the built-in price of the upstream model applies
(hub/config/prices.py), else none (``ModelConfig.priced`` false).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.config import HubConfig, ModelConfig, ProviderConfig
from hub.config.prices import builtin_price
from hub.core.errors import HubError, NotFoundError
from hub.core.jsontypes import JSONObject

MISSING_KEY = "clé manquante"


def missing_key_warning(provider: str, variable: str) -> str:
    """The French start-up warning, also shown by /health and the dashboard."""
    return (
        f"Fournisseur « {provider} » : clé manquante (variable d'environnement {variable} "
        f"non définie). Ses modèles répondront 401 ; le reste du hub fonctionne."
    )


@dataclass(frozen=True)
class Route:
    model_key: str
    provider: ProviderConfig
    upstream_model: str
    model: ModelConfig | None

    @property
    def max_context(self) -> int | None:
        return self.model.max_context if self.model else None

    @property
    def names(self) -> tuple[str, str]:
        """The names that designate this upstream model: its key, ``provider/model``."""
        return self.model_key, f"{self.provider.name}/{self.upstream_model}"


def _dearest(models: list[ModelConfig]) -> ModelConfig:
    """Of configured models sharing one upstream model, the one a budget pays most for."""
    return max(models, key=lambda m: (m.priced, m.output_price, m.input_price))


class ModelRouter:
    def __init__(self, config: HubConfig) -> None:
        self._providers = {n: p for n, p in config.providers.items() if p.enabled}
        self._models = {k: m for k, m in config.models.items() if m.provider in self._providers}
        # Built once: every chat request resolves its model, and a frozen Route is not
        # free to build.
        self._routes = {
            k: Route(k, self._providers[m.provider], m.model, m) for k, m in self._models.items()
        }
        same: dict[tuple[str, str], list[ModelConfig]] = {}
        for m in self._models.values():
            same.setdefault((m.provider, m.model), []).append(m)
        self._upstream = {pair: self._routes[_dearest(ms).key] for pair, ms in same.items()}

    @property
    def models(self) -> dict[str, ModelConfig]:
        return self._models

    def provider_states(self) -> dict[str, JSONObject]:
        """Per enabled provider: « prêt », or « clé manquante » with the variable to set."""
        return {
            name: {"status": MISSING_KEY, "variable": p.missing_key}
            if p.missing_key
            else {"status": "prêt"}
            for name, p in self._providers.items()
        }

    def missing_keys(self) -> dict[str, str]:
        """Provider name → the unset variable its key refers to."""
        return {n: p.missing_key for n, p in self._providers.items() if p.missing_key}

    def check_provider_key(self, route: Route) -> None:
        """401 when the provider's key variable is not set."""
        variable = route.provider.missing_key
        if variable:
            raise HubError(
                f"Le fournisseur « {route.provider.name} » n'a pas de clé API : la variable "
                f"d'environnement {variable} n'est pas définie. Définissez-la puis "
                "redémarrez le hub (./scripts/kimi-proxy restart).",
                status=401,
                error_type="authentication_error",
                code="missing_provider_key",
                param="model",
            )

    def resolve(self, name: str) -> Route:
        """Exact key in [models], else ``provider/model`` split on the first '/'."""
        route = self._routes.get(name)
        if route is not None:
            return route
        provider_name, sep, upstream = name.partition("/")
        provider = self._providers.get(provider_name)
        if sep and upstream and provider is not None:
            configured = self._upstream.get((provider_name, upstream))
            if configured is not None:
                return configured
            return Route(name, provider, upstream, _builtin(name, provider_name, upstream))
        known = ", ".join(sorted(self._models)) or "aucun"
        raise NotFoundError(
            f"Modèle « {name} » inconnu. Modèles configurés : {known}.",
            code="model_not_found",
        )


def _builtin(name: str, provider: str, upstream: str) -> ModelConfig | None:
    price = builtin_price(upstream)
    if price is None:
        return None
    return ModelConfig(
        key=name,
        provider=provider,
        model=upstream,
        input_price=price.input,
        output_price=price.output,
        cached_input_price=price.cached_input,
        priced=True,
    )
