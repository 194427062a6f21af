"""Server-to-client traffic through the hub, with the conformance suite's reference server
upstream: elicitation, sampling and log lines reach the client whose call caused them, in
the 2025 era (server-to-client requests) and in 2026-07-28 (``input_required`` rounds),
over ``/servers/NAME/mcp`` (stdio child and HTTP upstream) and a profile."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import pytest_asyncio
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError

from hub.api.app import create_app
from hub.config import load_config
from tests.support.hub_configs import write_config
from tests.support.hub_mcp import wait_ready
from tests.support.node import node22
from tests.support.reference_server import needs_reference, reference_http, stdio_toml
from tests.support.servers import serve

pytestmark = [
    needs_reference,
    pytest.mark.xdist_group("reference_server"),
    pytest.mark.asyncio(loop_scope="module"),
]


class Answers:
    """A client's callbacks, recording what the upstream asked through the hub."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.logs: list[object] = []

    async def elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.asked.append(f"elicit:{params.message}")
        content: dict[str, str | int | float | bool | list[str] | None]
        content = {"response": "oui", "name": "Ada"}
        return types.ElicitResult(action="accept", content=content)

    async def sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.asked.append("sample")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="réponse du modèle"), model="test"
        )

    async def roots(self, context: ClientRequestContext) -> types.ListRootsResult:
        self.asked.append("roots")
        return types.ListRootsResult(
            roots=[types.Root.model_validate({"uri": "file:///projet", "name": "projet"})]
        )

    async def log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params.data)

    def client(self, url: str, mode: str) -> Client:
        return Client(
            url,
            mode=mode,
            elicitation_callback=self.elicit,
            sampling_callback=self.sample,
            list_roots_callback=self.roots,
            logging_callback=self.log,
            log_level="debug",
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    tmp_path: Path = tmp_path_factory.mktemp("relay")
    async with reference_http() as reference:
        extra = (
            stdio_toml("ref")
            + f"""
[mcp.servers.refhttp]
url = "{reference.url}"

[mcp.profiles.flat]
servers = ["refhttp"]
prefix = "on_collision"
tools = {{ allow = ["refhttp__*"] }}
"""
        )
        config = load_config(write_config(tmp_path, "http://127.0.0.1:9", extra), {})
        async with serve(create_app(config)) as url, httpx2.AsyncClient(base_url=url) as http:
            await wait_ready(http, "ref", "refhttp")
            yield url
            await reference.stop()


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent), result
    return block.text


@pytest.mark.parametrize("path", ["/servers/ref/mcp", "/servers/refhttp/mcp"])
async def test_legacy_client_answers_the_upstreams_requests(hub: str, path: str) -> None:
    answers = Answers()
    async with answers.client(hub + path, "legacy") as client:
        elicited = await client.call_tool("test_elicitation", {"message": "Votre avis ?"})
        await client.call_tool("test_sampling", {"prompt": "Bonjour"})
        await client.call_tool("test_tool_with_logging", {})
    assert 'action=accept, content={"response":"oui"' in _text(elicited)
    # (the fixture then checks the sampling answer against a request schema: its own quirk)
    assert answers.asked == ["elicit:Votre avis ?", "sample"]
    assert len(answers.logs) == 3  # the tool's three log lines, on the caller's call


@pytest.mark.parametrize("path", ["/servers/refhttp/mcp", "/profiles/flat/mcp"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_input_required_rounds_in_either_era(hub: str, path: str, mode: str) -> None:
    """A 2026-07-28 upstream asks through ``input_required``: a 2026 client gets the
    rounds as they are (its SDK answers and retries); a 2025 client is asked by the hub
    with ordinary requests, and the hub retries upstream."""
    answers = Answers()
    async with answers.client(hub + path, mode) as client:
        assert (client.protocol_version == "2026-07-28") == (mode == "auto")
        result = await client.call_tool("test_input_required_result_elicitation", {})
        sampled = await client.call_tool("test_input_required_result_sampling", {})
        roots = await client.call_tool("test_input_required_result_list_roots", {})
    assert _text(result) == "Hello, Ada!"
    assert "réponse du modèle" in _text(sampled)
    assert _text(roots) == "Found 1 root(s)"
    assert answers.asked == ["elicit:What is your name?", "sample", "roots"]


async def test_a_client_without_elicitation_gets_the_upstreams_fallback(hub: str) -> None:
    async with Client(hub + "/servers/refhttp/mcp", mode="legacy") as client:
        result = await client.call_tool("test_elicitation", {"message": "?"})
    assert _text(result).startswith("Elicitation not supported or error")


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_profile_serves_the_upstreams_prompts_templates_and_completions(hub: str) -> None:
    """Unprefixed profile: prompts under their own names, templates read by URI, a
    completion routed to the prompt's owner, the log level passed on."""
    async with Client(hub + "/profiles/flat/mcp", mode="legacy") as client:
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        assert "test_simple_prompt" in prompts and prompts == sorted(prompts)
        prompt = await client.get_prompt("test_simple_prompt")
        templates = (await client.list_resource_templates()).resource_templates
        read = await client.read_resource("test://template/42/data")
        ref = types.PromptReference(name="test_prompt_with_arguments")
        completion = await client.complete(ref, {"name": "arg1", "value": "a"})
        await client.set_logging_level("info")
        with pytest.raises(MCPError):
            await client.get_prompt("refhttp__test_simple_prompt")  # not this profile's name
    assert prompt.messages
    assert "test://template/{id}/data" in [t.uri_template for t in templates]
    assert "42" in str(read.contents[0])
    assert isinstance(completion.completion.values, list)


LEGACY_CLIENT = Path(__file__).resolve().parents[1] / "support" / "legacy_client.mjs"
ROUNDS = [
    "test_input_required_result_elicitation",
    "test_input_required_result_sampling",
    "test_input_required_result_list_roots",
]


@pytest.mark.parametrize(
    ("path", "rounds"),
    [("/servers/ref/mcp", False), ("/servers/refhttp/mcp", True), ("/profiles/flat/mcp", True)],
)
async def test_a_client_that_speaks_only_the_older_era(hub: str, path: str, rounds: bool) -> None:
    """The TypeScript SDK 1.x speaks 2025-11-25 only: what the upstream asks (2025
    requests from the stdio child, 2026 ``input_required`` rounds from the HTTP one)
    reaches it as requests, and its answers go back."""
    asking = ['test_elicitation={"message": "Votre avis ?"}', 'test_sampling={"prompt": "Bonjour"}']
    tools = [*asking, *(ROUNDS if rounds else [])]
    node = node22() or "node"
    done = await anyio.run_process([node, str(LEGACY_CLIENT), hub + path, *tools], check=False)
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert done.returncode == 0, (lines, done.stderr.decode()[-2000:])
    assert lines[0] == {"protocolVersion": "2025-11-25"}
    answers = {line["tool"]: line for line in lines if "tool" in line}
    assert 'action=accept, content={"response":"oui"' in answers["test_elicitation"]["text"]
    assert not answers["test_sampling"].get("error"), answers
    asked = [line["asked"] for line in lines if "asked" in line]
    if rounds:
        assert answers["test_input_required_result_elicitation"]["text"] == "Hello, Ada!"
        assert "réponse du modèle" in answers["test_input_required_result_sampling"]["text"]
        assert answers["test_input_required_result_list_roots"]["text"] == "Found 1 root(s)"
        assert asked == ["elicitation", "sampling", "elicitation", "sampling", "roots"]
    else:
        assert asked == ["elicitation", "sampling"]


async def test_a_2026_client_is_asked_in_rounds_by_a_2025_upstream(hub: str) -> None:
    """The stdio child speaks 2025 only and asks with requests mid-call: a 2026 client
    gets them as ``input_required`` rounds; the hub keeps the upstream call open."""
    answers = Answers()
    async with answers.client(hub + "/servers/ref/mcp", "auto") as client:
        assert client.protocol_version == "2026-07-28"
        elicited = await client.call_tool("test_elicitation", {"message": "Votre avis ?"})
        sampled = await client.call_tool("test_sampling", {"prompt": "Bonjour"})
        plain = await client.call_tool("test_simple_text", {})
        with pytest.raises(MCPError, match="requestState inconnu"):
            await client.session.call_tool(
                "test_elicitation",
                {"message": "?"},
                request_state="kimi-hub-round:forged",
                input_responses={"x": types.ElicitResult(action="decline")},
                allow_input_required=True,
            )
    assert 'action=accept, content={"response":"oui"' in _text(elicited)
    assert not sampled.is_error, sampled
    assert _text(plain)  # a call that asks nothing comes back as it did
    assert answers.asked == ["elicit:Votre avis ?", "sample"]
