"""A FastMCP server with the 2026-07-28 tasks extension (fastmcp-tasks, on PyPI), run from
its own venv (scripts/test-setup.sh): the engine and the wire are theirs, the tools ours.
Streamable HTTP on ``PORT``; tasks kept where ``TASKS_URL`` says (``memory://``, or a
Redis URL: then every process on it, and every session, sees every task).

- ``slow_sum(a, b, seconds)``: a task if the client declared the extension, else at once;
- ``greet()``: always a task; asks the name (an elicitation, as an input request);
- ``echo(text)``: never a task.
"""

import os

import anyio
import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.utilities.tasks import TaskConfig
from fastmcp_tasks import TasksExtension

mcp = FastMCP("taches")
mcp.add_extension(TasksExtension(url=os.environ.get("TASKS_URL", "memory://")))


@mcp.tool(task=True)
async def slow_sum(a: int, b: int, seconds: float = 0.3) -> int:
    await anyio.sleep(seconds)
    return a + b


NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@mcp.tool(task=TaskConfig(mode="required"))
async def greet(ctx: Context) -> str | mcp_types.InputRequiredResult:
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


if __name__ == "__main__":
    mcp.run(transport="http", host="127.0.0.1", port=int(os.environ["PORT"]), show_banner=False)
