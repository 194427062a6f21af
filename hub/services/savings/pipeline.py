"""One savings pass over a request: keep the newest rounds, summarise or mask the older.

Recency counts tool rounds (``hub.features.savings.rounds``). With compaction available
(switched on and the model has ``max_context``, or forced by preview/apply), the
rounds older than the ``keep_recent_rounds`` newest, counted in steps of
``rewrite_batch_rounds``, become one running summary placed right after the task;
without it their bulky contents are masked. When the result would still pass
``compaction_threshold × max_context``, the pass escalates one round at a time
(mask the kept rounds, oldest first, then summarise them; kept only when it removes half
of what it rewrites or the window needs it) and never touches the
head (everything before the first answer) nor the latest user message. Giant tool
outputs (``giant_output_tokens``) are shrunk in every round but the newest; the
newest round goes as sent unless the request would not fit the window otherwise,
and then its giant outputs are shrunk first, its other bulky contents next; if even
that does not fit, the result says ``over_window`` and the caller refuses the request.

Summaries are appended segment by segment (one per batch of rounds) and masked
contents are memoised, so the forwarded prefix stays byte-identical between two
steps of the frontier: a provider's prompt cache keeps it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hub.config import SavingsConfig
from hub.core.errors import HubError
from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.offload import json_chars, run_sized
from hub.core.storage.savings import CachedCompaction, SavingsStore
from hub.core.tokens import TokenCounter
from hub.features.savings.layout import EXTRACTIVE, Layout
from hub.features.savings.rounds import Levels, escalate, natural_frontier
from hub.features.savings.sanitizer import MaskMemo
from hub.features.savings.state import Histories, History, Segment
from hub.features.savings.summariser import SummariserError, llm_summary
from hub.features.savings.wording import wording
from hub.proxy.routing import ModelRouter
from hub.proxy.upstream import ProviderPool

MEMO_SIZE = 20_000
LLM_PASSES = 3
LOW_MARK = 0.75  # escalation aims at LOW_MARK × threshold × max_context
ESCALATION_SHARE = 0.5  # of the rounds an escalation rewrites, removed: else not worth it
NO_SUMMARISER = "aucun résumeur configuré ([savings].summariser_model)"


@dataclass(frozen=True)
class Plan:
    """What to do for one pass: thresholds are already resolved for the model."""

    masking: bool
    compaction: bool
    max_context: int | None
    threshold: float
    keep_rounds: int
    batch: int = 10
    force: bool = False
    persist: bool = True
    session_id: int | None = None
    summarise_old: bool = True
    summarise_from: int = 0  # tokens a request needs before its old rounds are summarised
    giant: int | None = None  # tokens of one output shrunk even in recent rounds


@dataclass
class PassResult:
    messages: list[JSON]
    tokens_before: int
    tokens_after: int
    masking: JSONObject | None = None
    compaction: JSONObject | None = None
    events: list[tuple[str, JSONObject]] = field(default_factory=list)
    masked_originals: list[tuple[str, str, int]] = field(default_factory=list)
    over_window: bool = False


def _worth(layout: Layout, start: Levels, levels: Levels) -> bool:
    """An escalation breaks the prompt cache from its first rewritten round on: worth it
    only when it removes at least ``ESCALATION_SHARE`` of the rounds it rewrites."""
    first = layout.start(start.summarised)
    end = layout.start(max(levels.masked, levels.summarised))
    rewritten = layout.sums[end] - layout.sums[first]
    return layout.size(start) - layout.size(levels) >= ESCALATION_SHARE * rewritten


class SavingsPipeline:
    def __init__(
        self,
        config: SavingsConfig,
        router: ModelRouter,
        pool: ProviderPool,
        counter: TokenCounter,
        store: SavingsStore,
        *,
        memo_size: int = MEMO_SIZE,
    ) -> None:
        self._config = config
        self._router = router
        self._pool = pool
        self._counter = counter
        self._store = store
        self.memo = MaskMemo(memo_size)
        self._memo_lock = threading.Lock()  # passes of concurrent requests share the memo
        self.histories = Histories()

    async def untouched(
        self,
        messages: list[JSON],
        tools: Sequence[JSON],
        session_id: int,
        keep_rounds: int,
        limit: int | None,
        giant: int | None = None,
    ) -> int | None:
        """The prompt's tokens when ``run`` would forward ``messages`` as they are, else None.

        Short requests (most chat turns, every request of an editor's quick actions) have
        no more messages than kept rounds, so no round is old, and fit below ``limit``
        (``compaction_threshold × max_context``), so nothing escalates. The pass (layout,
        levels, rebuilt list) is skipped for them. Exact,
        not a guess: tokens are counted as the pass counts them (cached per message; the
        request's row reuses the count), and a session whose earlier pass or ``apply``
        left rounds rewritten takes the pass, and so does a request big enough to hold a
        giant output (``giant`` tokens).
        """
        if len(messages) > keep_rounds:  # a round is at least one message
            return None
        history = self.histories.peek(session_id)
        if history is not None and (history.levels.masked or history.applied.masked):
            return None
        tokens = await self._counter.count_chat_async(messages, tools)  # new ones in a thread
        if giant is not None and tokens >= giant:
            return None
        return tokens if limit is None or tokens <= limit else None

    async def run(self, messages: list[JSON], plan: Plan, tools: Sequence[JSON] = ()) -> PassResult:
        """``tools`` only count toward the window: their schemas fill it too."""
        history = self.histories.get(plan.session_id)
        async with history.lock:
            overhead = await run_sized(json_chars(tools), lambda: self._counter.count_tools(tools))
            size = json_chars(messages[history.common(messages) :])  # what is new: the work
            layout = await run_sized(size, lambda: self._prepare(messages, history, plan))

            # Sizing levels builds the extractive summary and counts it with tiktoken: on a
            # long history seen cold, too long to hold the event loop.
            async def sized_levels() -> Levels:
                return await run_sized(size, lambda: self._levels(layout, plan, history, overhead))

            levels = await sized_levels()
            reason = (
                NO_SUMMARISER
                if levels.summarised and self._config.summariser_model is None
                else None
            )
            for _ in range(LLM_PASSES):  # model texts change sizes, hence maybe the levels
                if not levels.summarised or self._config.summariser_model is None:
                    break
                reason = await self._llm_segments(layout, levels, plan)
                settled, levels = levels, await sized_levels()
                if levels == settled:
                    break
            return await run_sized(
                size, lambda: self._result(layout, levels, plan, history, overhead, reason)
            )

    def _prepare(self, messages: list[JSON], history: History, plan: Plan) -> Layout:
        with self._memo_lock:
            history.sync(messages, self._counter)
            return Layout(
                messages,
                history,
                self._counter,
                batch=plan.batch,
                min_tokens=self._config.mask_min_tokens,
                memo=self.memo,
                wording=wording(self._config.prompt_language),
                giant=plan.giant if plan.masking else None,
            )

    def _levels(self, layout: Layout, plan: Plan, history: History, overhead: int) -> Levels:
        levels = self._search(layout, plan, history, overhead)
        with self._memo_lock:
            if (levels.summarised or levels.masked) and layout.size(levels) > layout.tokens_before:
                # a summary of a few tiny rounds can be longer than they are: never grow
                return Levels(0, 0, levels.newest)
        return levels

    def _search(self, layout: Layout, plan: Plan, history: History, overhead: int) -> Levels:
        can_summarise = plan.compaction and (plan.max_context is not None or plan.force)
        rounds = layout.rounds
        if plan.force:
            cut = max(0, rounds - max(plan.keep_rounds, 1))
            return Levels(cut, cut)
        frontier = natural_frontier(rounds, plan.keep_rounds, plan.batch)
        if can_summarise and plan.summarise_old and layout.tokens_before >= plan.summarise_from:
            start = Levels(frontier, frontier)
        else:
            start = Levels(0, frontier if plan.masking else 0)
        for floor, prefix in (
            (history.applied, history.applied_prefix),
            (history.levels, history.levels_prefix),
        ):
            if (
                floor.masked
                and floor.masked < rounds
                and prefix == (history.prefix(layout.start(floor.masked)))
            ):
                start = Levels(
                    max(start.summarised, floor.summarised), max(start.masked, floor.masked)
                )
        if plan.max_context is None:
            return start
        high = int(plan.threshold * plan.max_context) - overhead
        with self._memo_lock:
            if layout.size(start) <= high:
                return start
            # Past the threshold: go down to a lower mark at once, so the next turns
            # fit without touching the prefix again (one cache miss, not one per turn).
            low = int(plan.threshold * LOW_MARK * plan.max_context) - overhead
            levels = escalate(
                start,
                rounds,
                layout.size,
                low,
                can_mask=plan.masking,
                can_summarise=can_summarise,
            )
            fit = plan.max_context - overhead
            if layout.size(start) <= fit and not _worth(layout, start, levels):
                levels = start  # the head and the newest round fill it: nothing to win
            # The newest round goes as sent while the request fits the window; if not,
            # its giant outputs are shrunk, then its other bulky contents: not refused.
            for newest in (1, 2):
                if not plan.masking or layout.size(levels) <= plan.max_context - overhead:
                    break
                levels = replace(levels, newest=newest)
            return levels

    async def _llm_segments(self, layout: Layout, levels: Levels, plan: Plan) -> str | None:
        """Full batches get the summariser model's text (cached in memory and SQLite)."""
        model_key = self._config.summariser_model
        assert model_key is not None
        reason: str | None = None
        for first, end in layout.segment_ranges(levels.summarised):
            if end - first < layout.batch:
                continue
            segment = layout.segment(first, end)
            if segment.summariser != EXTRACTIVE or segment.reason is not None:
                reason = reason or segment.reason
                continue
            key = hashlib.sha256(
                f"segment:{first}:{end}:".encode() + layout.history.prefix(layout.start(end))
            ).hexdigest()
            cached = await self._store.find_compaction([key])
            region = layout.messages[layout.start(first) : layout.start(end)]
            if cached is not None:
                stored = as_object(cached.replacement[0]) if cached.replacement else None
                text = str((stored or {}).get("content", ""))
                summariser = cached.summariser
            else:
                try:
                    route = self._router.resolve(model_key)
                    text = await llm_summary(self._pool, route, region, layout.wording)
                except (SummariserError, HubError) as exc:
                    segment.reason = reason = exc.message if isinstance(exc, HubError) else str(exc)
                    continue
                summariser = f"llm:{model_key}"
                if plan.persist:
                    entry = CachedCompaction(
                        key, end, [{"role": "assistant", "content": text}], summariser, 0, 0
                    )
                    await self._store.save_compaction(plan.session_id, entry)
            layout.history.segments[(first, end, layout.history.prefix(layout.start(end)))] = (
                Segment(text, 0, summariser)
            )
        layout.forget_summaries()
        return reason

    def _result(
        self,
        layout: Layout,
        levels: Levels,
        plan: Plan,
        history: History,
        overhead: int,
        reason: str | None,
    ) -> PassResult:
        with self._memo_lock:
            messages, masked = layout.build(levels, decide=plan.persist)
            summary_tokens = layout.summary(levels.summarised)[1]
            masked_before = sum(m.tokens for m in masked)
            masked_after = sum(m.placeholder_tokens for m in masked)
        before = layout.tokens_before
        replaced = layout.sums[layout.start(levels.summarised)] - layout.sums[layout.start(0)]
        compaction_saved = replaced - summary_tokens if levels.summarised else 0
        masking_saved = masked_before - masked_after
        after = before - compaction_saved - masking_saved
        result = PassResult(messages, before, after)
        if plan.max_context is not None and after + overhead > plan.max_context:
            result.over_window = True
        # originals behind the summary's mask:<hash> references, then the masked ones
        result.masked_originals = list(layout.new_originals)
        if masked:
            result.masked_originals += [(m.hash, m.text, m.tokens) for m in masked]
            result.masking = {
                "tokens_before": before,
                "tokens_after": before - masking_saved,
                "masked": [
                    {"hash": m.hash, "index": m.index, "kind": m.kind, "tokens": m.tokens}
                    for m in masked
                ],
            }
            result.events.append(("masking", result.masking))
        if levels.summarised:
            cut = layout.start(levels.summarised)
            names = {
                history.segments[(a, b, history.prefix(layout.start(b)))].summariser
                for a, b in layout.segment_ranges(levels.summarised)
            }
            result.compaction = {
                "tokens_before": before - masking_saved,
                "tokens_after": after,
                "cache_hit": layout.new_segments == 0,
                "reused_summary": levels.summarised > layout.batch,
                "replaced_messages": cut - layout.start(0),
                "rounds": levels.summarised,
                "prefix_hash": history.prefix(cut).hex(),
                "summariser": "+".join(sorted(names)),
                "fallback": reason is not None,
                "reason": reason,
            }
            result.events.append(("compaction", result.compaction))
            if plan.force and plan.persist:
                history.applied = Levels(levels.summarised, levels.summarised)
                history.applied_prefix = history.prefix(cut)
        if not plan.force:
            history.levels = levels
            history.levels_prefix = history.prefix(layout.start(levels.masked))
        return result
