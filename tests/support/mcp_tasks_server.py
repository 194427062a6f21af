"""A FastMCP server with the 2026-07-28 tasks extension (fastmcp-tasks, on PyPI), run from
its own venv (scripts/test-setup.sh): the engine and the wire are theirs, the tools ours.
Streamable HTTP on ``PORT``; tasks kept where ``TASKS_URL`` says (``memory://``, or a
Redis URL: then every process on it, and every session, sees every task).

- ``slow_sum(a, b, seconds)``: a task if the client declared the extension, else at once;
- ``ask_name()``: always a task; asks the name (an elicitation, as an input request);
- ``echo(text)``: never a task;
- the fixtures the conformance suite's ``tasks-*`` scenarios name (``greet``,
  ``slow_compute``, ``failing_job``, ``protocol_error_job``, ``confirm_delete``,
  ``multi_input``, ``test_tool_with_task``), as their descriptions ask, for what the
  suite measures alone and through the hub.
"""

import os
from collections.abc import Mapping

import anyio
import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.utilities.tasks import TaskConfig
from fastmcp_tasks import TasksExtension
from mcp.shared.exceptions import MCPError

mcp = FastMCP("taches")
mcp.add_extension(TasksExtension(url=os.environ.get("TASKS_URL", "memory://")))


@mcp.tool(task=True)
async def slow_sum(a: int, b: int, seconds: float = 0.3) -> int:
    await anyio.sleep(seconds)
    return a + b


NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@mcp.tool(task=TaskConfig(mode="required"))
async def ask_name(ctx: Context) -> str | mcp_types.InputRequiredResult:
    """Asks the name the guard way (a task leg ends with the question, the next one
    reads the answer): fastmcp-tasks refuses ``ctx.elicit`` inside a task."""
    answer = (ctx.input_responses or {}).get("name")
    if answer is None:
        ask = mcp_types.ElicitRequest(
            params=mcp_types.ElicitRequestFormParams(
                message="Votre nom ?", requested_schema=NAME_FORM
            )
        )
        return mcp_types.InputRequiredResult(input_requests={"name": ask})
    content = getattr(answer, "content", None) or {}
    return f"Bonjour {content.get('name', 'inconnu')}"


@mcp.tool
def echo(text: str) -> str:
    return text


@mcp.tool
def greet(name: str) -> str:
    return f"Hello, {name}!"


@mcp.tool(task=True)
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    await anyio.sleep(seconds)
    return f"computed {label}".strip()


@mcp.tool(task=TaskConfig(mode="required"))
async def failing_job() -> str:
    await anyio.sleep(1)
    raise ToolError("failing_job failed on purpose")


@mcp.tool(task=True)
async def protocol_error_job() -> str:
    raise MCPError(mcp_types.INTERNAL_ERROR, "protocol error")


def _question(message: str, schema: Mapping[str, object]) -> mcp_types.ElicitRequest:
    params = mcp_types.ElicitRequestFormParams(message=message, requested_schema=dict(schema))
    return mcp_types.ElicitRequest(params=params)


def _elicit(key: str, message: str, schema: Mapping[str, object]) -> mcp_types.InputRequiredResult:
    return mcp_types.InputRequiredResult(input_requests={key: _question(message, schema)})


@mcp.tool(task=True)
async def multi_input(ctx: Context) -> str | mcp_types.InputRequiredResult:
    """Two questions at once; answered one at a time, the other stays asked."""
    answers = ctx.input_responses or {}
    schema = {"type": "object", "properties": {"value": {"type": "string"}}}
    missing: mcp_types.InputRequests = {
        k: _question(k, schema) for k in ("first", "second") if k not in answers
    }
    if missing:
        return mcp_types.InputRequiredResult(input_requests=missing)
    return "both answered"


@mcp.tool(task=True)
async def confirm_delete(
    ctx: Context, filename: str = "x.txt"
) -> str | mcp_types.InputRequiredResult:
    answer = (ctx.input_responses or {}).get("confirm")
    if answer is None:
        schema = {"type": "object", "properties": {"confirm": {"type": "boolean"}}}
        return _elicit("confirm", f"Delete {filename}?", schema)
    return f"deleted {filename}" if getattr(answer, "action", "") == "accept" else "kept"


@mcp.tool(task=TaskConfig(mode="required"))
async def test_tool_with_task(ctx: Context) -> str | mcp_types.InputRequiredResult:
    answer = (ctx.input_responses or {}).get("user_name")
    if answer is None:
        schema = {"type": "object", "properties": {"name": {"type": "string"}}}
        return _elicit("user_name", "What is your name?", schema)
    content = getattr(answer, "content", None) or {}
    return f"Hello, {content.get('name', 'unknown')}!"


if __name__ == "__main__":
    mcp.run(transport="http", host="127.0.0.1", port=int(os.environ["PORT"]), show_banner=False)
