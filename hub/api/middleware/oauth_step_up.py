"""Step-up for one tool: a ``tools/call`` for a tool the token's scopes do not open, but
another scope would, is answered 403 ``insufficient_scope`` naming that scope, so the
client can ask for it and retry (the MCP authorization step-up).

Only for OAuth callers whose scopes restrict tools; the body read is replayed to the app
as it came. Anything unreadable goes on untouched: the endpoint answers it as usual.
"""

from __future__ import annotations

from collections import deque

from starlette.types import Message, Receive, Scope

from hub.core.jsoncodec import loads
from hub.core.storage.keys import KeyRecord
from hub.services.access.keys import matches
from hub.services.access.oauth_resource import ProtectedResource, endpoint_profile
from hub.services.access.oauth_tokens import OAuthIdentity


def _called_tool(body: bytes) -> str | None:
    try:
        message = loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    return name if isinstance(name, str) else None


async def tool_step_up(
    scope: Scope,
    receive: Receive,
    oauth: ProtectedResource,
    identity: OAuthIdentity,
    key: KeyRecord,
    limit: int,
) -> Receive:
    """The receive to hand on (replaying what was read), or ``BearerRefusal`` 403."""
    profile = endpoint_profile(str(scope.get("path", "")))
    if scope.get("method") != "POST" or not key.limits.tools or profile is None:
        return receive
    read: deque[Message] = deque()
    body = b""
    while len(body) <= limit:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body"):
            name = _called_tool(body)
            if name is not None and not matches(name, key.limits.tools):
                oauth.step_up_for_tool(identity, profile, name)
            break

    async def replay() -> Message:
        return read.popleft() if read else await receive()

    return replay
