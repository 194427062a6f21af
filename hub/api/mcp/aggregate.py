"""An aggregate endpoint's (``/mcp``, a profile) prompts, completions, log level and
resource subscriptions: each request goes to the upstream that owns its name or URI,
in the caller's era (``hub.features.mcp_hub.aggregate`` says who owns what)."""

from __future__ import annotations

import logging

import mcp_types as types
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from hub.api.mcp.common import Ctx
from hub.api.mcp.routing import DownstreamRequester
from hub.features.mcp_hub.aggregate import (
    PromptEntry,
    prompt_entries,
    template_owner,
)
from hub.features.mcp_hub.connection import UpstreamConnection, UpstreamUnavailable
from hub.features.mcp_hub.forwarding import PromptAnswer, is_modern
from hub.features.mcp_hub.profiles import Profile

logger = logging.getLogger(__name__)


def _client(connection: UpstreamConnection, ctx: Ctx) -> Client:
    try:
        return connection.clients().for_caller(DownstreamRequester(ctx))
    except UpstreamUnavailable as exc:
        raise MCPError(types.INTERNAL_ERROR, str(exc)) from None


class UpstreamExtras:
    """The handlers that only make sense with upstream servers behind the profile."""

    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    def prompts(self) -> dict[str, PromptEntry]:
        profile = self._profile
        connections = profile.upstreams.connections
        return prompt_entries(connections, profile.servers(), profile.config.prefix)

    async def list_prompts(
        self, ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        entries = sorted(self.prompts().items())
        profile = self._profile
        ttl = profile.upstreams.ttl_ms("prompts", profile.servers())
        return types.ListPromptsResult(prompts=[entry.prompt for _, entry in entries], ttl_ms=ttl)

    async def get_prompt(self, ctx: Ctx, params: types.GetPromptRequestParams) -> PromptAnswer:
        entry = self.prompts().get(params.name)
        if entry is None:
            raise MCPError(types.INVALID_PARAMS, f"Prompt inconnu : « {params.name[:200]} »")
        connection = self._profile.upstreams.connections[entry.server]
        upstream = params.model_copy(update={"name": entry.upstream_name})
        caller = DownstreamRequester(ctx)
        try:
            async with self._profile.upstreams.serving(connection, caller) as own:
                return await own.get_prompt(upstream, caller)
        except UpstreamUnavailable as exc:
            raise MCPError(types.INTERNAL_ERROR, str(exc)) from None

    async def complete(self, ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
        ref = params.ref
        owner: UpstreamConnection | None
        if isinstance(ref, types.PromptReference):
            entry = self.prompts().get(ref.name)
            owner = self._profile.upstreams.connections[entry.server] if entry else None
            if entry is not None:
                ref = ref.model_copy(update={"name": entry.upstream_name})
        else:
            connections = self._profile.upstreams.connections
            owner = template_owner(connections, self._profile.servers(), ref.uri)
        if owner is None:
            return types.CompleteResult(completion=types.Completion(values=[]))
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context else None
        return await _client(owner, ctx).complete(ref, argument, context)

    async def set_level(self, ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        """Passed on to every upstream that has logging (a 2025-era client's request)."""
        request = types.SetLevelRequest(params=types.SetLevelRequestParams(level=params.level))
        for server in self._profile.servers():
            connection = self._profile.upstreams.connections[server]
            try:
                client = connection.clients().for_caller(DownstreamRequester(ctx))
                if client.server_capabilities.logging and not is_modern(client):
                    await client.session.send_request(request, types.EmptyResult)
            except (UpstreamUnavailable, MCPError) as exc:
                logger.info("logging/setLevel non transmis à %s : %s", server, exc)
        return types.EmptyResult()
