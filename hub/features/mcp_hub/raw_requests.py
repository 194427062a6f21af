"""Task requests sent upstream as they are, in the upstream's generation of tasks.

The mcp SDK (2.3) has neither generation of tasks: it checks every ``tools/call`` answer
against ``CallToolResult`` (a task handle is not one), has no ``tasks/*`` methods, and
stamps every request with the same client capabilities. These requests are stamped like
any other (the session's own stamp: protocol version, client info, capabilities,
``Mcp-Name``) and their answers come back unchecked, to be relayed as the upstream wrote
them. The seams are private to the SDK: the tests run them against real tasks servers
(the npm everything server for 2025-11-25 tasks, fastmcp-tasks for the 2026-07-28
extension), so an SDK change that moves them fails there first.
"""

from __future__ import annotations

import mcp_types as types
from mcp.client import Client
from mcp.shared.dispatcher import CallOptions
from mcp.shared.inbound import MCP_NAME_HEADER, encode_header_value

from hub.core.jsontypes import JSONObject

EXTENSION = "io.modelcontextprotocol/tasks"  # the 2026-07-28 tasks extension (SEP-2663)


def runs_tasks(client: Client) -> bool:
    """Does this 2025-era session take task-augmented ``tools/call``?"""
    tasks = client.server_capabilities.tasks
    requests = tasks.requests if tasks else None
    return bool(requests and requests.tools and requests.tools.call is not None)


def speaks_extension(client: Client) -> bool:
    """Does this session's server announce the 2026-07-28 tasks extension?"""
    return EXTENSION in (client.server_capabilities.extensions or {})


async def raw_request(
    client: Client, method: str, params: JSONObject, declare_tasks: bool = False
) -> JSONObject:
    """``declare_tasks``: this request's client capabilities name the tasks extension
    (a 2026-07-28 server makes a task only for a request that does)."""
    session = client.session
    data: JSONObject = {"method": method, "params": params}
    opts: CallOptions = {}
    session._stamp(data, opts)
    sent = data["params"]
    assert isinstance(sent, dict)
    task_id = sent.get("taskId")
    if isinstance(task_id, str):  # SEP-2663: tasks/* name their task in Mcp-Name
        opts.setdefault("headers", {})[MCP_NAME_HEADER] = encode_header_value(task_id)
    meta = sent.get("_meta")
    if declare_tasks and isinstance(meta, dict):
        declared = meta.get(types.CLIENT_CAPABILITIES_META_KEY)
        capabilities = dict(declared) if isinstance(declared, dict) else {}
        extensions = capabilities.get("extensions")
        capabilities["extensions"] = {
            **(extensions if isinstance(extensions, dict) else {}),
            EXTENSION: {},
        }
        meta[types.CLIENT_CAPABILITIES_META_KEY] = capabilities
    answer: JSONObject = await session._dispatcher.send_raw_request(method, sent, opts)
    return answer


def legacy_task(task: JSONObject) -> JSONObject:
    """A 2026-07-28 task's fields under their 2025-11-25 names (nothing inlined)."""
    shown: JSONObject = {k: task[k] for k in SHARED_FIELDS if k in task}
    shown["ttl"] = task.get("ttlMs")
    if "pollIntervalMs" in task:
        shown["pollInterval"] = task["pollIntervalMs"]
    return shown


def modern_task(task: JSONObject) -> JSONObject:
    """A 2025-11-25 task's fields under their 2026-07-28 names."""
    shown: JSONObject = {k: task[k] for k in SHARED_FIELDS if k in task}
    shown["ttlMs"] = task.get("ttl")  # null: unlimited, in both
    if "pollInterval" in task:
        shown["pollIntervalMs"] = task["pollInterval"]
    return shown


SHARED_FIELDS = ("taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt")


async def call_as_task(
    client: Client, name: str, arguments: JSONObject | None, task: types.TaskMetadata
) -> types.CallToolResult | types.InputRequiredResult | types.CreateTaskResult:
    """A task handle, or the tool's result when the upstream chose to answer at once.
    A 2026-07-28 handle comes back in the 2025 shape, the one the hub keeps."""
    params: JSONObject = {"name": name, "arguments": arguments or {}}
    modern = speaks_extension(client) and not runs_tasks(client)
    if not modern:
        params["task"] = task.model_dump(by_alias=True, mode="json", exclude_none=True)
    answer = await raw_request(client, "tools/call", params, declare_tasks=modern)
    if "task" in answer:
        return types.CreateTaskResult.model_validate(answer, by_name=False)
    if answer.get("resultType") == "task":
        fields = legacy_task(answer)
        return types.CreateTaskResult.model_validate({"task": fields}, by_name=False)
    if answer.get("resultType") == "input_required":
        return types.InputRequiredResult.model_validate(answer, by_name=False)
    return types.CallToolResult.model_validate(answer, by_name=False)
