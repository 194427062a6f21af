"""What one request looks like at given levels: sizes for the search, messages to send.

A ``Layout`` is built once per pass over the session's ``History``: the head
(system prompt and task) stays, rounds ``[0, summarised)`` become one running
summary, rounds ``[summarised, masked)`` have their bulky contents masked, the
rest goes as sent. Sizes come from cached per-message counts, so trying many
levels costs additions, not tokenisation.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.core.jsontypes import JSON, as_object
from hub.core.tokens import REPLY_PRIMER, TokenCounter
from hub.features.savings.compaction import running_summary, summary_block
from hub.features.savings.rounds import SYSTEM_ROLES, Levels, head_end, role_of, round_starts
from hub.features.savings.sanitizer import MaskedOriginal, MaskMemo, mask_hash, mask_one
from hub.features.savings.state import History, Segment
from hub.features.savings.summariser import rounds_digest

EXTRACTIVE = "extractif"


class Layout:
    def __init__(
        self,
        messages: Sequence[JSON],
        history: History,
        counter: TokenCounter,
        *,
        batch: int,
        min_tokens: int,
        memo: MaskMemo,
    ) -> None:
        self.messages = messages
        self.history = history
        self.counter = counter
        self.batch = max(batch, 1)
        self.min_tokens = min_tokens
        self.memo = memo
        self.head = head_end(messages)
        self.starts = round_starts(messages, self.head)
        self.rounds = len(self.starts)
        self.sums = [0]
        for info in history.infos:
            self.sums.append(self.sums[-1] + info.tokens)
        self.tokens_before = REPLY_PRIMER + self.sums[-1]
        self._summaries: dict[int, tuple[list[JSON], int]] = {}
        self.new_segments = 0
        self.new_originals: list[tuple[str, str, int]] = []  # of segments made by this pass

    def start(self, round_index: int) -> int:
        """Message index where round ``round_index`` starts (``len`` past the last)."""
        return self.starts[round_index] if round_index < self.rounds else len(self.messages)

    def _masked(self, index: int) -> tuple[JSON, list[MaskedOriginal], int]:
        info = self.history.infos[index]
        if info.masked is None:
            obj = as_object(info.message)
            if obj is None or obj.get("role") in SYSTEM_ROLES:
                info.masked = (info.message, [], info.tokens)
            else:
                new, found = mask_one(obj, index, self.counter, self.min_tokens, self.memo)
                tokens = self.counter.count_message(new) if found else info.tokens
                info.masked = (new, found, tokens)
        return info.masked

    def segment(self, first: int, end: int) -> Segment:
        key = (first, end, self.history.prefix(self.start(end)))
        found = self.history.segments.get(key)
        if found is None:
            region: list[JSON] = []
            references: list[str | None] = []
            originals: list[tuple[str, str, int]] = []
            for index in range(self.start(first), self.start(end)):
                message = self.messages[index]
                if role_of(message) in SYSTEM_ROLES:
                    continue
                region.append(message)
                references.append(self._reference(index, originals))
            found = Segment(rounds_digest(region, references), 0, EXTRACTIVE, None, originals)
            self.history.segments[key] = found
            self.new_segments += 1
            self.new_originals += originals
        return found

    def _reference(self, index: int, originals: list[tuple[str, str, int]]) -> str | None:
        """A bulky tool answer keeps its original retrievable (``mask:<hash>``)."""
        info = self.history.infos[index]
        obj = as_object(info.message) or {}
        text = obj.get("content")
        if obj.get("role") != "tool" or not isinstance(text, str):
            return None
        if info.tokens < self.min_tokens:
            return None
        digest = mask_hash(text)
        originals.append((digest, text, info.tokens))
        return digest

    def segment_ranges(self, summarised: int) -> list[tuple[int, int]]:
        return [(a, min(a + self.batch, summarised)) for a in range(0, summarised, self.batch)]

    def summary(self, summarised: int) -> tuple[list[JSON], int]:
        """The messages standing for rounds ``[0, summarised)`` and their tokens."""
        if summarised <= 0:
            return [], 0
        found = self._summaries.get(summarised)
        if found is None:
            parts = [(a, b, self.segment(a, b).text) for a, b in self.segment_ranges(summarised)]
            before = role_of(self.messages[self.head - 1]) if self.head else ""
            after = role_of(self.messages[self.start(summarised)])
            block = summary_block(before, after, running_summary(parts))
            region = self.messages[self.start(0) : self.start(summarised)]
            block += [m for m in region if role_of(m) in SYSTEM_ROLES]
            tokens = sum(self.counter.count_message(as_object(m) or {}) for m in block)
            found = self._summaries[summarised] = (block, tokens)
        return found

    def forget_summaries(self) -> None:
        self._summaries.clear()

    def masked_tokens(self, first: int, end: int) -> int:
        return sum(self._masked(i)[2] for i in range(self.start(first), self.start(end)))

    def size(self, levels: Levels) -> int:
        head = self.sums[self.start(0)]
        summary = self.summary(levels.summarised)[1]
        masked = self.masked_tokens(levels.summarised, levels.masked)
        whole = self.sums[-1] - self.sums[self.start(levels.masked)]
        return REPLY_PRIMER + head + summary + masked + whole

    def build(self, levels: Levels) -> tuple[list[JSON], list[MaskedOriginal]]:
        out: list[JSON] = list(self.messages[: self.start(0)])
        out += self.summary(levels.summarised)[0]
        masked: list[MaskedOriginal] = []
        for index in range(self.start(levels.summarised), self.start(levels.masked)):
            message, found, _ = self._masked(index)
            out.append(message)
            masked += found
        out += self.messages[self.start(levels.masked) :]
        return out, masked
