"""Context savings for chat requests: masking and compaction, switched and recorded.

``ChatService`` calls ``rewrite`` before building the upstream body. REST (and,
later, MCP) call ``preview``, ``apply`` and ``compress_messages``. Every masking and
compaction is stored in ``savings_events`` and published on the event bus.

The last request's original messages are kept per session (``session_messages``)
so that a compaction can be previewed or applied on demand; ``apply`` stores the
compaction in the cache, so the client's next turn, which resends that history,
is compacted without a new summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from hub.config import SavingsConfig
from hub.core.errors import HubError, NotFoundError
from hub.core.jsontypes import JSON, JSONObject
from hub.core.records import SessionRecord
from hub.core.storage.masks import MaskStore
from hub.core.storage.savings import SavingsStore
from hub.features.savings.paging import Page, PageError, by_lines, by_offset
from hub.features.savings.sanitizer import HASH_LENGTH, MaskedOriginal, is_mask_hash
from hub.features.savings.wording import Wording, wording
from hub.proxy.routing import ModelRouter, Route
from hub.services.events import EventBus
from hub.services.savings.pipeline import PassResult, Plan, SavingsPipeline

OFF_VALUES = ("off", "false", "0", "non")
# A client resends its whole history every turn: store a session's latest messages at
# most once per SAVE_DELAY (and at shutdown), not a megabyte of JSON per request.
SAVE_DELAY = 1.0
ON_VALUES = ("on", "true", "1", "oui", "auto")
KINDS = ("masking", "compaction")


def compaction_allowed(header: str | None) -> bool:
    """The ``X-Kimi-Compaction`` header: ``off`` disables every rewrite for one request."""
    if header is None:
        return True
    value = header.strip().lower()
    if value in OFF_VALUES:
        return False
    if value in ON_VALUES:
        return True
    raise HubError(
        "En-tête « X-Kimi-Compaction » invalide : « on » ou « off » attendu.",
        code="invalid_compaction_header",
        param="X-Kimi-Compaction",
    )


class ContextTooLarge(HubError):
    """Even the head (all before the first answer), the latest user message and the newest
    round, its bulky outputs shrunk, do not fit the model's window: never forwarded."""

    def __init__(self, tokens: int, window: int) -> None:
        super().__init__(
            f"Requête trop longue pour le modèle : {tokens} tokens après économies, pour une "
            f"fenêtre de {window} tokens (le message système, la tâche et ce qui la précède, "
            "le dernier message de l'utilisateur et le dernier tour, même réduit, ne peuvent "
            "pas être réduits davantage).",
            code="context_length_exceeded",
            param="messages",
        )


@dataclass(frozen=True)
class Rewrite:
    messages: list[JSON]
    tokens_saved: int
    prompt_tokens: int | None = None  # of ``messages`` and the tools, when already counted


class SavingsService:
    def __init__(
        self,
        config: SavingsConfig,
        router: ModelRouter,
        pipeline: SavingsPipeline,
        masks: MaskStore,
        store: SavingsStore,
        bus: EventBus,
    ) -> None:
        self._config = config
        self._router = router
        self._pipeline = pipeline
        self._store = store
        self._bus = bus
        self._masks = masks
        self._pending: set[asyncio.Task[None]] = set()  # debounced history saves
        self._writes: set[asyncio.Task[None]] = set()  # masks and events of proxied requests
        self._unsaved: dict[int, tuple[str, list[JSON]]] = {}

    @property
    def wording(self) -> Wording:
        """The words of what the hub writes into a prompt (``[savings] prompt_language``)."""
        return wording(self._config.prompt_language)

    def _threshold(self, route: Route | None) -> float:
        per_model = route.model.compaction_threshold if route and route.model else None
        return per_model or self._config.compaction_threshold

    def _plan(
        self,
        route: Route | None,
        *,
        force: bool = False,
        persist: bool = True,
        session_id: int | None = None,
        keep: int | None = None,
    ) -> Plan:
        return Plan(
            masking=self._config.masking,
            compaction=self._config.compaction or force,
            max_context=route.max_context if route else None,
            threshold=self._threshold(route),
            keep_rounds=keep or self._config.keep_recent_rounds,
            batch=self._config.rewrite_batch_rounds,
            summarise_old=self._config.summarise_old_rounds,
            summarise_from=self._config.summarise_from_tokens,
            giant=self._config.giant_output_tokens or None,
            force=force,
            persist=persist,
            session_id=session_id,
        )

    async def rewrite(
        self,
        messages: list[JSON],
        route: Route,
        session: SessionRecord,
        header: str | None,
        tools: list[JSON] | None = None,
    ) -> Rewrite:
        """The messages to forward and the tokens this saved (0 when nothing changed)."""
        allowed = compaction_allowed(header)
        self._remember(session.id, route.model_key, messages)
        if not allowed or not session.compaction:
            return Rewrite(messages, 0)
        if not self._config.masking and not (self._config.compaction and route.max_context):
            return Rewrite(messages, 0)
        window = route.max_context
        limit = None if window is None else min(int(self._threshold(route) * window), window)
        keep = self._config.keep_recent_rounds
        giant = self._config.giant_output_tokens or None
        tokens = await self._pipeline.untouched(
            messages, tools or [], session.id, keep, limit, giant if self._config.masking else None
        )
        if tokens is not None:
            return Rewrite(messages, 0, tokens)
        plan = self._plan(route, session_id=session.id)
        result = await self._pipeline.run(messages, plan, tools or [])
        if result.over_window and route.max_context is not None:
            raise ContextTooLarge(result.tokens_after, route.max_context)
        if result.masked_originals or result.events:  # written after the request has left
            task = asyncio.create_task(self._record(result, session.id))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        return Rewrite(result.messages, result.tokens_before - result.tokens_after)

    def _remember(self, session_id: int, model_key: str, messages: list[JSON]) -> None:
        first = session_id not in self._unsaved
        self._unsaved[session_id] = (model_key, messages)
        if first:
            task = asyncio.create_task(self._save_later(session_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _save_later(self, session_id: int) -> None:
        await asyncio.sleep(SAVE_DELAY)
        await asyncio.shield(self._save(session_id))  # flush() may cancel the wait, not the write

    async def _save(self, session_id: int) -> None:
        entry = self._unsaved.pop(session_id, None)
        if entry is not None:
            await self._store.save_messages(session_id, *entry)

    async def _written(self) -> None:
        """Read-your-writes: masks and events of earlier requests are stored."""
        while self._writes:
            await asyncio.gather(*list(self._writes))

    async def flush(self) -> None:
        """Write every pending session history, mask and event now."""
        for session_id in list(self._unsaved):
            await self._save(session_id)
        waiting = list(self._pending)
        for task in waiting:
            task.cancel()  # each would only find its history already written
        await asyncio.gather(*waiting, return_exceptions=True)
        await self._written()

    async def _record(
        self, result: PassResult, session_id: int | None, kinds: tuple[str, ...] = KINDS
    ) -> None:
        await self._masks.put(result.masked_originals)
        for kind, detail in result.events:
            if kind not in kinds:
                continue
            before, after = detail.get("tokens_before"), detail.get("tokens_after")
            assert isinstance(before, int) and isinstance(after, int)
            event_id = await self._store.add_event(session_id, kind, before, after, detail)
            if event_id is not None:
                self._bus.publish(kind, {"session_id": session_id, "event_id": event_id, **detail})

    async def _session_messages(self, session_id: int) -> tuple[Route, list[JSON]]:
        await self.flush()
        found = await self._store.last_messages(session_id)
        if found is None:
            raise NotFoundError(
                f"Aucune requête enregistrée pour la session {session_id} : rien à compacter.",
                code="no_messages",
            )
        model_key, messages = found
        return self._router.resolve(model_key), messages

    @staticmethod
    def _shape(result: PassResult, extra: JSONObject) -> JSONObject:
        return {
            **extra,
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after,
            "tokens_saved": result.tokens_before - result.tokens_after,
            "masking": result.masking,
            "compaction": result.compaction,
            "messages": result.messages,
        }

    async def preview(self, session_id: int, keep: int | None = None) -> JSONObject:
        """What compaction would send for the session's last request; nothing is cached."""
        route, messages = await self._session_messages(session_id)
        plan = self._plan(route, force=True, persist=False, session_id=session_id, keep=keep)
        result = await self._pipeline.run(messages, plan)
        await self._masks.put(result.masked_originals)  # the preview's references resolve
        return self._shape(result, {"session_id": session_id, "applied": False})

    async def apply(self, session_id: int, keep: int | None = None) -> JSONObject:
        """Compact now; the cached result is reused by the client's next turn."""
        route, messages = await self._session_messages(session_id)
        plan = self._plan(route, force=True, session_id=session_id, keep=keep)
        result = await self._pipeline.run(messages, plan)
        # Only the compaction is new: the masking of these messages was already counted
        # by the request that sent them.
        await self._record(result, session_id, ("compaction",))
        return self._shape(result, {"session_id": session_id, "applied": True})

    async def compress_messages(self, messages: list[JSON], keep: int | None = None) -> JSONObject:
        """Mask and compact any message list (no session, nothing cached)."""
        result = await self._pipeline.run(
            messages, self._plan(None, force=True, persist=False, keep=keep)
        )
        await self._masks.put(result.masked_originals)
        return self._shape(result, {})

    async def mask(self, reference: str) -> str:
        """A masked original, byte for byte (``GET /api/mask/{hash}`` and the MCP tool).

        Accepts the hash or the ``mask:<hash>`` reference a placeholder shows.
        """
        digest = reference.strip().lower().removeprefix("mask:")
        if not is_mask_hash(digest):
            raise HubError(
                f"Référence de masque invalide : {HASH_LENGTH} caractères hexadécimaux attendus.",
                code="invalid_mask_hash",
                param="hash",
            )
        await self._written()
        text = await self._masks.get(digest)
        if text is None:
            raise NotFoundError(
                f"Masque « {digest} » introuvable (jamais créé ou expiré).", code="mask_not_found"
            )
        return text

    async def mask_page(
        self,
        reference: str,
        *,
        lines: str | None = None,
        offset: int | None = None,
        length: int | None = None,
    ) -> Page:
        """A piece of a masked original: a line range (``"120-180"``) or characters from
        ``offset``; a giant output is read page by page this way."""
        text = await self.mask(reference)
        try:
            if lines is not None:
                return by_lines(text, lines)
            return by_offset(text, offset or 0, length)
        except PageError as exc:
            param = "lines" if lines is not None else "offset"
            raise HubError(str(exc), code="invalid_mask_range", param=param) from None

    async def keep_masked(self, masked: Sequence[MaskedOriginal], detail: JSONObject) -> None:
        """Originals masked outside a chat request (MCP tool results over their limit):
        stored before the placeholder leaves, so ``mask`` finds them at once, and counted
        as masking savings (an event without session)."""
        await self._masks.put([(m.hash, m.text, m.tokens) for m in masked])
        before = sum(m.tokens for m in masked)
        after = sum(m.placeholder_tokens for m in masked)
        items: list[JSON] = [
            {"hash": m.hash, "index": m.index, "kind": m.kind, "tokens": m.tokens} for m in masked
        ]
        event: JSONObject = {**detail, "tokens_before": before, "tokens_after": after}
        event["masked"] = items
        event_id = await self._store.add_event(None, "masking", before, after, event)
        self._bus.publish("masking", {"session_id": None, "event_id": event_id, **event})

    async def totals(self, session_id: int | None = None) -> JSONObject:
        await self._written()
        return await self._store.totals(session_id)

    async def events(self, session_id: int | None = None, limit: int = 50) -> list[JSONObject]:
        await self._written()
        return await self._store.events(session_id, limit)
