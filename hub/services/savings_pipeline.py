"""One pass of masking then compaction over a message list, with the compaction cache.

Compactions are cached by the hash of the original message prefix they replace:
clients resend the whole history each turn, so turn N+1 finds turn N's summary
by hashing its own prefixes (one chained pass) and reuses it instead of calling
the summariser again. A new summary is only written when the context, summary
included, passes the threshold again; it then summarises the previous summary
plus the turns that followed it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.config import SavingsConfig
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject
from hub.core.offload import json_chars, run_sized
from hub.core.savings_store import CachedCompaction, SavingsStore
from hub.core.tokens import TokenCounter
from hub.features.compaction import (
    compaction_cut,
    prefix_hashes,
    replaced_region,
    replacement_prefix,
    user_indices,
)
from hub.features.sanitizer import MaskMemo, MaskOutcome, mask_messages, protected_from
from hub.features.summariser import SummariserError, extractive_summary, llm_summary
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool

MEMO_SIZE = 20_000
EXTRACTIVE = "extractif"
NO_SUMMARISER = "aucun résumeur configuré ([savings].summariser_model)"


@dataclass(frozen=True)
class Plan:
    """What to do for one pass: thresholds are already resolved for the model."""

    masking: bool
    compaction: bool
    max_context: int | None
    threshold: float
    keep_recent_exchanges: int
    force: bool = False
    persist: bool = True
    session_id: int | None = None


@dataclass
class PassResult:
    messages: list[JSON]
    tokens_before: int
    tokens_after: int
    masking: JSONObject | None = None
    compaction: JSONObject | None = None
    events: list[tuple[str, JSONObject]] = field(default_factory=list)
    masked_originals: list[tuple[str, str, int]] = field(default_factory=list)


class SavingsPipeline:
    def __init__(
        self,
        config: SavingsConfig,
        router: ModelRouter,
        pool: ProviderPool,
        counter: TokenCounter,
        store: SavingsStore,
    ) -> None:
        self._config = config
        self._router = router
        self._pool = pool
        self._counter = counter
        self._store = store
        self._memo: MaskMemo = {}
        self._memo_lock = threading.Lock()  # passes of concurrent requests share the memo

    def _mask(self, messages: list[JSON]) -> MaskOutcome:
        """Runs in a worker thread: hashing and tokenising new contents is CPU-bound."""
        with self._memo_lock:
            outcome = mask_messages(
                messages,
                self._counter,
                protect_from=protected_from(messages),
                min_tokens=self._config.mask_min_tokens,
                memo=self._memo,
            )
            while len(self._memo) > MEMO_SIZE:  # oldest decisions go first (insertion order)
                del self._memo[next(iter(self._memo))]
        return outcome

    async def run(self, messages: list[JSON], plan: Plan, tools: Sequence[JSON] = ()) -> PassResult:
        """``tools`` only count toward the threshold: their schemas fill the window too."""
        tokens_before = await self._counter.count_chat_async(messages)
        size = json_chars(messages)
        current = messages
        result = PassResult(messages, tokens_before, tokens_before)
        if plan.masking:
            outcome = await run_sized(size, lambda: self._mask(messages))
            if outcome.masked:
                # stored by the caller: on the proxy path, after the request has left
                result.masked_originals = [(m.hash, m.text, m.tokens) for m in outcome.masked]
                current = outcome.messages
                after = tokens_before - outcome.tokens_saved
                result.masking = {
                    "tokens_before": tokens_before,
                    "tokens_after": after,
                    "masked": [
                        {"hash": m.hash, "index": m.index, "kind": m.kind, "tokens": m.tokens}
                        for m in outcome.masked
                    ],
                }
                result.events.append(("masking", result.masking))
        if plan.compaction and (plan.max_context or plan.force):
            overhead = await run_sized(json_chars(tools), lambda: self._counter.count_tools(tools))
            current = await self._compact(messages, current, plan, result, overhead, size)
        result.messages = current
        result.tokens_after = await self._counter.count_chat_async(current)
        return result

    async def _compact(
        self,
        original: list[JSON],
        masked: list[JSON],
        plan: Plan,
        result: PassResult,
        overhead: int,
        size: int,
    ) -> list[JSON]:
        hashes = await run_sized(size, lambda: prefix_hashes(original))
        keep = plan.keep_recent_exchanges
        # Any cached prefix ending on a user message is reusable: everything after it
        # is sent verbatim, and an explicit ``apply`` may have kept fewer exchanges.
        cached = await self._store.find_compaction([hashes[i] for i in user_indices(original)])
        base = cached.replaced if cached else 0
        prefix = cached.replacement if cached else []
        effective = [*prefix, *masked[base:]]
        plain = [*prefix, *original[base:]]
        before = await self._counter.count_chat_async(masked)
        size = await self._counter.count_chat_async(effective)
        limit = plan.threshold * plan.max_context if plan.max_context else None
        wanted = plan.force or (limit is not None and size + overhead > limit)
        cut = compaction_cut(effective, keep) if wanted else None
        if cut is None:
            if cached is None:
                return masked
            return self._report(result, before, size, cached, cache_hit=True, effective=effective)
        summary, summariser, reason = await self._summarise(
            replaced_region(effective, cut), replaced_region(plain, cut)
        )
        replacement = replacement_prefix(effective, cut, summary)
        rewritten = [*replacement, *effective[cut:]]
        after = await self._counter.count_chat_async(rewritten)
        if after >= size:
            if cached is None:
                return masked
            return self._report(result, before, size, cached, cache_hit=True, effective=effective)
        original_cut = cut - len(prefix) + base
        entry = CachedCompaction(hashes[original_cut], original_cut, replacement, summariser,
                                 before, after)  # fmt: skip
        if plan.persist:
            await self._store.save_compaction(plan.session_id, entry)
        result.compaction = {
            "tokens_before": before,
            "tokens_after": after,
            "cache_hit": False,
            "reused_summary": cached is not None,
            "replaced_messages": original_cut,
            "prefix_hash": entry.prefix_hash,
            "summariser": summariser,
            "fallback": reason is not None,
            "reason": reason,
        }
        result.events.append(("compaction", result.compaction))
        return rewritten

    def _report(
        self,
        result: PassResult,
        before: int,
        after: int,
        cached: CachedCompaction,
        *,
        cache_hit: bool,
        effective: list[JSON],
    ) -> list[JSON]:
        result.compaction = {
            "tokens_before": before,
            "tokens_after": after,
            "cache_hit": cache_hit,
            "reused_summary": True,
            "replaced_messages": cached.replaced,
            "prefix_hash": cached.prefix_hash,
            "summariser": cached.summariser,
            "fallback": False,
            "reason": None,
        }
        result.events.append(("compaction", result.compaction))
        return effective

    async def _summarise(
        self, masked_region: Sequence[JSON], plain_region: Sequence[JSON]
    ) -> tuple[str, str, str | None]:
        """(summary, summariser name, fallback reason or None)."""
        model_key = self._config.summariser_model
        if model_key is None:
            summary = await run_sized(
                json_chars(plain_region), lambda: extractive_summary(plain_region)
            )
            return summary, EXTRACTIVE, NO_SUMMARISER
        try:
            route = self._router.resolve(model_key)
            summary = await llm_summary(self._pool, route, masked_region)
        except (SummariserError, HubError) as exc:
            text = exc.message if isinstance(exc, HubError) else str(exc)
            summary = await run_sized(
                json_chars(plain_region), lambda: extractive_summary(plain_region)
            )
            return summary, EXTRACTIVE, text
        return summary, f"llm:{model_key}", None
