"""``/servers/NAME/mcp`` announces its upstream: the upstream's ``serverInfo`` and
instructions, and only the capabilities the upstream has.

One source of truth: ``initialize``, ``server/discover`` and the 2026-07-28 ``serverInfo``
stamp all read the live upstream (its current round), and the capabilities are the
handlers the hub serves, less what the upstream lacks. While the upstream is down the
endpoint announces itself under the server's configured name.
"""

from __future__ import annotations

import mcp_types as types
from mcp.client import Client
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions

from hub.api.mcp.common import ListChangedServer
from hub.features.mcp_hub import UpstreamConnection
from hub.features.mcp_hub.connection import UpstreamUnavailable

JSONStamp = dict[str, object]


class MirrorServer(ListChangedServer):
    """A lowlevel server that presents itself as the upstream of ``mirrored``."""

    mirrored: UpstreamConnection | None = None  # set once built (Server takes the handlers)

    def _upstream(self) -> Client | None:
        """The upstream's current round, None while it is down."""
        try:
            return self.mirrored.connected() if self.mirrored else None
        except UpstreamUnavailable:
            return None

    @property
    def server_info(self) -> types.Implementation:
        client = self._upstream()
        info = client.server_info if client else None
        return info if info is not None else super().server_info

    @property
    def server_info_stamp(self) -> JSONStamp:
        return self.server_info.model_dump(by_alias=True, mode="json", exclude_none=True)

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, object]] | None = None,
        extensions: dict[str, dict[str, object]] | None = None,
    ) -> InitializationOptions:
        options = super().create_initialization_options(
            notification_options, experimental_capabilities, extensions
        )
        client = self._upstream()
        info = client.server_info if client else None
        if client is None or info is None:
            return options
        return options.model_copy(
            update={
                "server_name": info.name,
                "server_version": info.version,
                "title": info.title,
                "description": info.description,
                "website_url": info.website_url,
                "icons": info.icons,
                "instructions": client.instructions,
            }
        )

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, object]] | None = None,
        extensions: dict[str, dict[str, object]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        served = super().get_capabilities(
            notification_options or NotificationOptions(True, True, True),
            experimental_capabilities,
            extensions,
            protocol_version=protocol_version,
        )
        client = self._upstream()
        upstream = client.server_capabilities if client else None
        if upstream is None:
            return served
        resources = served.resources
        if resources is not None and upstream.resources is not None:
            subscribe = bool(resources.subscribe and upstream.resources.subscribe)
            resources = resources.model_copy(update={"subscribe": subscribe})
        return served.model_copy(
            update={
                "tools": served.tools if upstream.tools else None,
                "prompts": served.prompts if upstream.prompts else None,
                "resources": resources if upstream.resources else None,
                "logging": served.logging if upstream.logging else None,
                "completions": served.completions if upstream.completions else None,
            }
        )
