"""The one decision point for every MCP tool call, whatever the door it came through.

Doors: ``/mcp`` and ``/profiles/NAME/mcp`` (a profile), ``kimi-proxy mcp`` (a profile over
stdio), ``/servers/NAME/mcp`` (one upstream alone), the search-mode ``tool_call``
meta-tool (the profile's door again), and the hub's own tools (entries of a profile).
Each door asks the gate what the caller may see (``visible``) and hands it every call
(``call``); the gate applies, once and in this order:

1. the server's rules (``[mcp.servers.X] tools.allow/deny``, applied when its tools are
   listed: a tool they drop is not in the server's list),
2. the profile's rules (servers, ``tools.allow/deny``: the profile's catalogue),
3. the caller's key (``tools`` patterns over ``server__tool`` or the hub tool's name;
   ``tools_default = "deny"``: no pattern, no tool).

A name the caller cannot see is refused, always (JSON-RPC ``-32602``, one French message
whether the tool is denied or does not exist: the caller learns nothing of what it
may not use); a tool the caller may use on a server that is not connected answers
``isError``. Every decision is audited (``AuditLog``), with the call's duration, result
size, and a flag when the result or the tool's description reads like an
instruction injection (also published as an ``injection`` event; nothing is rewritten).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

import mcp_types as types
from mcp.shared.exceptions import MCPError

from hub.core.jsontypes import JSON
from hub.core.offload import run_sized
from hub.core.stopwatch import Timing
from hub.core.storage.audit import AuditRecord
from hub.features.injection import injection_excerpt
from hub.features.mcp_hub import UpstreamHub
from hub.features.mcp_hub.connection import UpstreamUnavailable, error_result
from hub.features.mcp_hub.naming import matches, prefixed, split_prefixed
from hub.features.mcp_hub.profiles import Catalogue, Entry, Profile, qualified
from hub.services.access.caller import Caller
from hub.services.events import EventBus
from hub.services.recording.audit import AuditLog
from hub.services.telemetry import RequestTrace, Telemetry
from hub.services.telemetry.tracing import NO_ATTRIBUTES, Attributes

logger = logging.getLogger("hub.gate")
# 2026: a round, then more; 2025: a task handle, its result fetched later (tasks/result)
CallResult = types.CallToolResult | types.InputRequiredResult | types.CreateTaskResult
Runner = Callable[[Entry], Awaitable[CallResult]]


@dataclass(frozen=True)
class Door:
    """Where calls come in: a profile's endpoint, or one upstream alone (``server``)."""

    endpoint: str  # /mcp, /profiles/NAME/mcp, /servers/NAME/mcp, stdio
    profile: Profile | None = None
    server: str | None = None


@dataclass(frozen=True)
class Verdict:
    decision: str  # allowed, denied, unknown, unavailable
    entry: Entry | None
    reason: str | None = None  # French, for the audit (and the caller when unavailable)


def key_allows(caller: Caller, name: str) -> bool:
    """The caller's key patterns over a qualified tool name (no key: every tool)."""
    if caller.key is None:
        return True
    limits = caller.key.limits
    if not limits.tools:
        return limits.tools_default == "allow"
    return any(fnmatchcase(name, pattern) for pattern in limits.tools)


def refusal(name: str) -> MCPError:
    return MCPError(types.INVALID_PARAMS, f"Outil inconnu ou non autorisé : « {name[:100]} ».")


def _texts(result: types.CallToolResult) -> tuple[list[str], int]:
    """The result's readable texts (scanned for injections) and its size in characters
    (texts, base64 data, strings inside ``structuredContent``)."""
    texts: list[str] = []
    size = 0
    for block in result.content:
        if isinstance(block, types.TextContent):
            texts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            size += len(block.data)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                texts.append(resource.text)
            else:
                size += len(resource.blob)
    stack: list[JSON] = [result.structured_content] if result.structured_content else []
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return texts, size + sum(len(text) for text in texts)


def _first_injection(texts: list[str]) -> str | None:
    for text in texts:
        found = injection_excerpt(text)
        if found is not None:
            return found
    return None


class ToolGate:
    def __init__(
        self, upstreams: UpstreamHub, audit: AuditLog, bus: EventBus, telemetry: Telemetry
    ) -> None:
        self._upstreams = upstreams
        self._audit = audit
        self._bus = bus
        self._telemetry = telemetry
        self._servers: dict[str, Catalogue] = {}  # /servers/NAME/mcp, per generation
        self._announced: set[tuple[str, str, str]] = set()  # descriptions already flagged
        upstreams.on_change(self._descriptions_changed)

    def _descriptions_changed(self) -> None:
        """An ``injection`` event for each newly flagged tool description."""
        current = {
            (server, tool, excerpt)
            for server, connection in self._upstreams.connections.items()
            for tool, excerpt in connection.flagged.items()
        }
        for server, tool, excerpt in sorted(current - self._announced):
            self._bus.publish(
                "injection",
                {"source": "description", "server": server, "tool": tool, "excerpt": excerpt},
            )
            logger.warning(
                "Description de l'outil %s (%s) : texte suspect d'injection d'instructions "
                "(« %s »)",
                tool,
                server,
                excerpt,
            )
        self._announced |= current  # once per process, across restarts of the server

    # -- what a door shows ---------------------------------------------------------------

    def catalogue(self, door: Door) -> Catalogue:
        """Every tool the door shows before the caller's key is applied."""
        if door.profile is not None:
            return door.profile.catalogue()
        assert door.server is not None
        generation = self._upstreams.generation
        cached = self._servers.get(door.server)
        if cached is None or cached.generation != generation:
            connection = self._upstreams.get(door.server)
            tools = connection.tools if connection is not None else []
            entries = [Entry(tool, door.server, tool.name) for tool in tools]
            cached = Catalogue(entries, {e.tool.name: e for e in entries}, generation)
            self._servers[door.server] = cached
        return cached

    def visible(self, caller: Caller, door: Door) -> Catalogue:
        """What this caller may see and call at this door."""
        return self.catalogue(door).restricted_to(lambda e: key_allows(caller, qualified(e)))

    # -- deciding ------------------------------------------------------------------------

    def decide(self, caller: Caller, door: Door, name: str) -> Verdict:
        entry = self.catalogue(door).by_name.get(name)
        if entry is None:
            return self._missing(caller, door, name)
        if not key_allows(caller, qualified(entry)):
            return Verdict("denied", entry, "refusé par les motifs d'outils de la clé")
        return Verdict("allowed", entry)

    def _missing(self, caller: Caller, door: Door, name: str) -> Verdict:
        """Why a name is not in the door's list: a rule, a server down, or unknown."""
        server, tool = (door.server, name) if door.server else (split_prefixed(name) or ("", ""))
        connection = self._upstreams.get(server) if server else None
        if connection is None:
            return Verdict("unknown", None, "outil inconnu")
        full = prefixed(server, tool)
        config = connection.config
        if (config.tools_allow and not matches(tool, config.tools_allow)) or matches(
            tool, config.tools_deny
        ):
            return Verdict("denied", None, f"refusé par [mcp.servers.{server}].tools")
        if door.profile is not None and not door.profile.shows(server, full):
            return Verdict("denied", None, f"refusé par le profil « {door.profile.name} »")
        if not key_allows(caller, full):
            return Verdict("denied", None, "refusé par les motifs d'outils de la clé")
        try:
            connection.connected()
        except UpstreamUnavailable as exc:
            return Verdict("unavailable", None, f"Appel impossible : {exc}.")
        return Verdict("unknown", None, "outil inconnu")

    # -- calling -------------------------------------------------------------------------

    async def call(
        self,
        caller: Caller,
        door: Door,
        name: str,
        run: Runner,
        via: str | None = None,
    ) -> CallResult:
        """Decide, run if allowed, audit either way. Refused: ``MCPError`` (-32602)."""
        trace = self._trace(caller, door, name)
        return await self._traced(trace, self._call(caller, door, name, run, via))

    async def _call(
        self, caller: Caller, door: Door, name: str, run: Runner, via: str | None
    ) -> CallResult:
        verdict = self.decide(caller, door, name)
        entry = verdict.entry
        server, tool = (entry.server, entry.upstream_name) if entry else self._named(door, name)
        audit = _Audit(caller, door.endpoint, via, server, tool)
        if verdict.decision != "allowed" or entry is None:
            self._audit.record(audit.refused(verdict))
            if verdict.decision == "unavailable" and verdict.reason:
                return error_result(verdict.reason)
            raise refusal(name)
        return await self._run(audit, entry, lambda: run(entry))

    async def call_meta(
        self, caller: Caller, door: Door, name: str, run: Callable[[], Awaitable[CallResult]]
    ) -> CallResult:
        """``tool_search`` / ``tool_describe``: always there in search mode (they only show
        what ``visible`` lets through), audited like any call."""
        audit = _Audit(caller, door.endpoint, None, None, name)
        return await self._traced(self._trace(caller, door, name), self._run(audit, None, run))

    def _trace(self, caller: Caller, door: Door, name: str) -> RequestTrace:
        attributes: Attributes = NO_ATTRIBUTES
        if self._telemetry.enabled:
            attributes = {
                "mcp.method.name": "tools/call",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "kimi.mcp.endpoint": door.endpoint,
                "kimi.caller": caller.kind,
                "kimi.key.id": caller.key_id or "",
            }
        return self._telemetry.begin("mcp", f"tools/call {name}", attributes)

    @staticmethod
    async def _traced(trace: RequestTrace, work: Awaitable[CallResult]) -> CallResult:
        """Run ``work`` under the call's span (what upstreams get as ``_meta.traceparent``)
        and its stopwatch (what upstreams took: the rest is the hub's time)."""
        error: str | None = "appel interrompu"
        with trace.current(), Timing() as watch:
            try:
                result = await work
                failed = isinstance(result, types.CallToolResult) and result.is_error
                error = "isError" if failed else None
                return result
            except MCPError as exc:
                error = exc.error.message
                raise
            finally:
                trace.upstream = watch.upstream
                trace.end(error)

    async def _run(
        self, audit: _Audit, entry: Entry | None, run: Callable[[], Awaitable[CallResult]]
    ) -> CallResult:
        started = time.perf_counter()
        try:
            result = await run()
        except MCPError as exc:
            self._audit.record(audit.failed(started, exc.error.message))
            raise
        except BaseException:  # cancelled (client gone) or a bug: recorded, then as before
            self._audit.record(audit.failed(started, "appel interrompu"))
            raise
        # a 2026 round asks the client for input: nothing to scan until the call ends
        texts, size = _texts(result) if isinstance(result, types.CallToolResult) else ([], 0)
        excerpt = await run_sized(size, lambda: _first_injection(texts))
        flags = self._flags(entry, excerpt, audit)
        self._audit.record(audit.done(started, result, size, flags))
        return result

    def _named(self, door: Door, name: str) -> tuple[str | None, str]:
        if door.server is not None:
            return door.server, name
        parts = split_prefixed(name)
        return parts if parts and self._upstreams.get(parts[0]) else (None, name)

    def _flags(self, entry: Entry | None, excerpt: str | None, audit: _Audit) -> tuple[str, ...]:
        flags: list[str] = []
        if excerpt is not None:
            flags.append("injection_result")
            event = {**audit.where(), "source": "result", "excerpt": excerpt}
            self._bus.publish("injection", event)
            logger.warning(
                "Résultat de l'outil %s (%s) : texte suspect d'injection d'instructions (« %s »)",
                audit.tool,
                audit.server or "hub",
                excerpt,
            )
        if entry is not None and entry.server is not None:
            connection = self._upstreams.get(entry.server)
            if connection is not None and entry.upstream_name in connection.flagged:
                flags.append("injection_description")
        return tuple(flags)


@dataclass(frozen=True)
class _Audit:
    """The facts of one call known before it runs; builds its audit row."""

    caller: Caller
    endpoint: str
    via: str | None
    server: str | None
    tool: str

    def where(self) -> dict[str, JSON]:
        return {
            "caller": self.caller.kind,
            "key_id": self.caller.key_id,
            "endpoint": self.endpoint,
            "server": self.server,
            "tool": self.tool,
        }

    def _row(
        self,
        decision: str,
        reason: str | None,
        *,
        duration_ms: float | None = None,
        result_chars: int | None = None,
        is_error: bool = True,
        flags: tuple[str, ...] = (),
    ) -> AuditRecord:
        return AuditRecord(
            created_at=time.time(),
            caller=self.caller.kind,
            key_id=self.caller.key_id,
            endpoint=self.endpoint,
            via=self.via,
            server=self.server,
            tool=self.tool[:200],
            decision=decision,
            reason=reason[:300] if reason else None,
            duration_ms=duration_ms,
            result_chars=result_chars,
            is_error=is_error,
            flags=flags,
        )

    def refused(self, verdict: Verdict) -> AuditRecord:
        return self._row(verdict.decision, verdict.reason)

    def failed(self, started: float, reason: str) -> AuditRecord:
        elapsed = (time.perf_counter() - started) * 1000
        return self._row("allowed", reason, duration_ms=round(elapsed, 3), is_error=True)

    def done(
        self, started: float, result: CallResult, size: int, flags: tuple[str, ...]
    ) -> AuditRecord:
        elapsed = (time.perf_counter() - started) * 1000
        return self._row(
            "allowed",
            None,
            duration_ms=round(elapsed, 3),
            result_chars=size,
            is_error=isinstance(result, types.CallToolResult) and bool(result.is_error),
            flags=flags,
        )
