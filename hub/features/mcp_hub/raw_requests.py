"""Requests of the 2025-11-25 tasks, sent upstream as they are.

The mcp SDK (2.3) leaves the 2025 tasks out: it checks every ``tools/call`` answer
against ``CallToolResult``, which a task handle is not, and has no ``tasks/*`` methods.
These requests are stamped like any other (the session's own stamp: protocol header)
and their answers come back unchecked, to be relayed as the upstream wrote them. Both
seams are private to the SDK: the tests run them against a real tasks server (the npm
everything server), so an SDK change that moves them fails there first.
"""

from __future__ import annotations

import mcp_types as types
from mcp.client import Client
from mcp.shared.dispatcher import CallOptions

from hub.core.jsontypes import JSONObject


def runs_tasks(client: Client) -> bool:
    """Does this 2025-era session take task-augmented ``tools/call``?"""
    tasks = client.server_capabilities.tasks
    requests = tasks.requests if tasks else None
    return bool(requests and requests.tools and requests.tools.call is not None)


async def raw_request(client: Client, method: str, params: JSONObject) -> JSONObject:
    session = client.session
    data: JSONObject = {"method": method, "params": params}
    opts: CallOptions = {}
    session._stamp(data, opts)
    sent = data["params"]
    assert isinstance(sent, dict)
    answer: JSONObject = await session._dispatcher.send_raw_request(method, sent, opts)
    return answer


async def call_as_task(
    client: Client, name: str, arguments: JSONObject | None, task: types.TaskMetadata
) -> types.CallToolResult | types.CreateTaskResult:
    """A task handle, or the tool's result when the upstream chose to answer at once."""
    params: JSONObject = {
        "name": name,
        "arguments": arguments or {},
        "task": task.model_dump(by_alias=True, mode="json", exclude_none=True),
    }
    answer = await raw_request(client, "tools/call", params)
    if "task" in answer:
        return types.CreateTaskResult.model_validate(answer, by_name=False)
    return types.CallToolResult.model_validate(answer, by_name=False)
