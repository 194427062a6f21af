"""What one request looks like at given levels: sizes for the search, messages to send.

A ``Layout`` is built once per pass over the session's ``History``: the head
(everything before the first answer: system prompt, demonstration, task) stays, but for
the bulky user messages before the task (in-context demonstrations, see ``_demonstrations``);
rounds ``[0, summarised)`` become one running summary, rounds ``[summarised, masked)``
have their bulky contents masked, the rest goes as sent except giant outputs (see
``giant``) and outputs that a later output shows again (``repeats``), which shrink
everywhere but in the newest round. The latest user message is never summarised nor
masked: when it falls in the summarised rounds, it stays in place between the summary
of the rounds before it and that of the rounds after it. A message forwarded rewritten
keeps that form in later passes until summarised (decided once: the prompt cache breaks
once per message). Sizes come from cached per-message counts, so trying many levels
costs additions, not tokenisation.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.core.jsontypes import JSON, JSONObject, as_object
from hub.core.tokens import REPLY_PRIMER, TokenCounter
from hub.features.savings.compaction import running_summary, summary_block
from hub.features.savings.repeats import line_set, repeats, shrunk
from hub.features.savings.rounds import (
    SYSTEM_ROLES,
    Levels,
    head_end,
    latest_user,
    round_starts,
)
from hub.features.savings.sanitizer import MaskedOriginal, MaskMemo, mask_hash, mask_one
from hub.features.savings.state import History, Segment
from hub.features.savings.summariser import rounds_digest
from hub.features.savings.wording import ENGLISH, Wording

EXTRACTIVE = "extractif"
REPEATED = "sortie reprise plus loin"  # kind of a shrunk repeat, in events (people read it)
BULKY_ROLES = ("tool", "user")  # whose giant contents shrink even in recent rounds


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
        wording: Wording = ENGLISH,
        giant: int | None = None,
    ) -> None:
        """``giant``: a tool output (or user observation) of at least this many tokens is
        shrunk to its placeholder in every round but the newest (None: never)."""
        self.messages = messages
        self.history = history
        self.counter = counter
        self.batch = max(batch, 1)
        self.min_tokens = min_tokens
        self.memo = memo
        self.wording = wording
        self.giant = None if giant is None else max(giant, min_tokens)
        self.roles = [info.role for info in history.infos]
        self.head = head_end(messages, self.roles)
        self.starts = round_starts(messages, self.head, self.roles)
        self.rounds = len(self.starts)
        self.pinned = latest_user(messages, self.head, self.roles)  # never rewritten
        self.pin = None if self.pinned is None else self.starts.index(self.pinned)
        self.demos = self._demonstrations()
        self._find_repeats()
        self.sums = [0]
        self.kept = [0]  # the same with giant and repeated outputs shrunk
        for index, info in enumerate(history.infos):
            self.sums.append(self.sums[-1] + info.tokens)
            # only bulky messages can be shrunk (giant ≥ min_tokens, repeats are bulky)
            kept = info.tokens if info.tokens < min_tokens else self._kept(index)[2]
            self.kept.append(self.kept[-1] + kept)
        self.tokens_before = REPLY_PRIMER + self.sums[-1]
        self.head_tokens = self._head()[2]  # every level's size starts with it
        self._summaries: dict[int, tuple[list[JSON], int]] = {}
        self.new_segments = 0
        self.new_originals: list[tuple[str, str, int]] = []  # of segments made by this pass

    def _demonstrations(self) -> list[int]:
        """Bulky user messages of the head before its last one (the task): in-context
        demonstrations (SWE-agent 0.x). Rewritten like a giant output, from the first
        request on (so the prompt cache never sees them change); the task never is."""
        users = [i for i in range(self.head) if self.roles[i] == "user"]
        if self.giant is None or len(users) < 2:
            return []
        infos = self.history.infos
        return [
            i
            for i in users[:-1]
            if infos[i].tokens >= self.giant
            and isinstance((as_object(infos[i].message) or {}).get("content"), str)
        ]

    def _head(self) -> tuple[list[JSON], list[MaskedOriginal], int]:
        """The head as forwarded: as sent, its demonstrations rewritten; its tokens."""
        head = list(self.messages[: self.start(0)])
        tokens = self.sums[self.start(0)]
        found: list[MaskedOriginal] = []
        for index in self.demos:
            message, originals, count = self._masked(index)
            head[index] = message
            tokens += count - self.history.infos[index].tokens
            found += originals
        return head, found, tokens

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
                new, found = mask_one(
                    obj, index, self.counter, self.min_tokens, self.memo, self.wording
                )
                tokens = self.counter.count_message(new) if found else info.tokens
                info.masked = (new, found, tokens)
        return info.masked

    def _comparable(self, index: int) -> bool:
        info = self.history.infos[index]
        return (
            info.tokens >= self.min_tokens
            and index != self.pinned
            and info.role in BULKY_ROLES
            and isinstance((as_object(info.message) or {}).get("content"), str)
        )

    def _lines(self, index: int) -> frozenset[str]:
        info = self.history.infos[index]
        if info.lines is None:
            info.lines = line_set(str((as_object(info.message) or {}).get("content")))
        return info.lines

    def _find_repeats(self) -> None:
        """Mark bulky outputs that a later output shows again (new messages only)."""
        infos = self.history.infos
        bulky = [i for i in range(self.head, len(self.messages)) if self._comparable(i)]
        for later in bulky:
            if later < self.history.repeats_checked:
                continue
            for index in bulky:
                if index >= later:
                    break
                if infos[index].repeated_by is None and repeats(
                    self._lines(index), self._lines(later)
                ):
                    infos[index].repeated_by = later
        self.history.repeats_checked = len(self.messages)

    def _repeated(
        self, index: int, recent: int = 0
    ) -> tuple[JSON, list[MaskedOriginal], int] | None:
        """The shrunk form of an output a later one shows again, if that one is in view as
        sent (a recent round from ``recent`` on, and not a giant output itself)."""
        info = self.history.infos[index]
        later = info.repeated_by
        if later is None or later < recent:
            return None
        # A giant later output is itself shrunk once no longer newest: the older one stays
        # as it is rather than be shrunk for one turn and restored the next.
        if self.giant is not None and self.history.infos[later].tokens >= self.giant:
            return None
        if info.repeated is None:
            obj = as_object(info.message) or {}
            text = str(obj.get("content"))
            digest = mask_hash(text)
            tokens = self.counter.count_text(text)
            newer = self._lines(later)
            note = shrunk(text, newer, tokens, digest, self.wording)
            new: JSONObject = {**obj, "content": note}
            count = self.counter.count_message(new)
            # Shrinking it breaks the prompt cache from here on, and what lies between it
            # and the later output is sent again uncached: only worth it when that is less
            # than what it saves (the previous view of an editor loop, not a far one).
            between = sum(self.history.infos[i].tokens for i in range(index + 1, later))
            if count >= info.tokens or between > info.tokens - count:
                info.repeated = self._whole(index)
            else:
                small = self.counter.count_text(note)
                found = MaskedOriginal(digest, text, tokens, small, index, REPEATED)
                info.repeated = (new, [found], count)
        return info.repeated if info.repeated[1] else None  # not worth it: other rules apply

    def _whole(self, index: int) -> tuple[JSON, list[MaskedOriginal], int]:
        info = self.history.infos[index]
        return info.message, [], info.tokens

    def _maskable(self, index: int, recent: int) -> tuple[JSON, list[MaskedOriginal], int]:
        """Masked (or shrunk as a repeat), except the latest user message, sent as it is."""
        if index == self.pinned:
            return self._whole(index)
        return (
            self.history.infos[index].sent or self._repeated(index, recent) or self._masked(index)
        )

    def _kept(self, index: int) -> tuple[JSON, list[MaskedOriginal], int]:
        """A message of a recent round: as sent, unless it is repeated or a giant output."""
        sent = self.history.infos[index].sent
        if sent is not None:
            return sent
        repeated = self._repeated(index)
        if repeated is not None:
            return repeated
        info = self.history.infos[index]
        if (
            self.giant is None
            or info.tokens < self.giant
            or index < self.head
            or index == self.pinned
            or info.role not in BULKY_ROLES
        ):
            return self._whole(index)
        return self._masked(index)

    def _newest(self, index: int, newest: int) -> tuple[JSON, list[MaskedOriginal], int]:
        """A message of the newest round: as sent while it fits (``Levels.newest``)."""
        info = self.history.infos[index]
        if info.sent is not None:
            return info.sent
        if newest == 0:
            return self._whole(index)
        if newest == 1 and (self.giant is None or info.tokens < self.giant):
            return self._whole(index)
        return self._masked(index) if index >= self.head else self._whole(index)

    def _regions(self, levels: Levels) -> tuple[int, int, int]:
        """Message indexes where the masked, the recent and the newest rounds start."""
        masked = self.start(levels.summarised)
        recent = self.start(max(levels.masked, levels.summarised))
        newest = max(recent, self.start(self.rounds - 1)) if self.rounds else recent
        return masked, recent, newest

    def segment(self, first: int, end: int) -> Segment:
        key = (first, end, self.history.prefix(self.start(end)))
        found = self.history.segments.get(key)
        if found is None:
            region: list[JSON] = []
            references: list[str | None] = []
            verbatim: list[bool] = []
            originals: list[tuple[str, str, int]] = []
            for index in range(self.start(first), self.start(end)):
                message = self.messages[index]
                if self.roles[index] in SYSTEM_ROLES:
                    continue
                region.append(message)
                short = self.history.infos[index].tokens < self.min_tokens
                verbatim.append(short)
                references.append(None if short else self._reference(index, originals))
            text = rounds_digest(region, references, wording=self.wording, verbatim=verbatim)
            found = Segment(text, 0, EXTRACTIVE, None, originals)
            self.history.segments[key] = found
            self.new_segments += 1
            self.new_originals += originals
        return found

    def _reference(self, index: int, originals: list[tuple[str, str, int]]) -> str | None:
        """A bulky tool answer (or user observation) keeps its original (``mask:<hash>``)."""
        info = self.history.infos[index]
        obj = as_object(info.message) or {}
        text = obj.get("content")
        if obj.get("role") not in BULKY_ROLES or not isinstance(text, str):
            return None
        if info.tokens < self.min_tokens:
            return None
        digest = mask_hash(text)
        originals.append((digest, text, info.tokens))
        return digest

    def _ranges(self, first: int, end: int) -> list[tuple[int, int]]:
        """Rounds ``[first, end)`` cut at multiples of ``batch`` (segments stay reusable)."""
        found = []
        while first < end:
            stop = min((first // self.batch + 1) * self.batch, end)
            found.append((first, stop))
            first = stop
        return found

    def segment_ranges(self, summarised: int) -> list[tuple[int, int]]:
        """The segments of the summary of rounds ``[0, summarised)``, the pinned one apart."""
        if self.pin is None or self.pin >= summarised:
            return self._ranges(0, summarised)
        return self._ranges(0, self.pin) + self._ranges(self.pin + 1, summarised)

    def _before(self, index: int) -> str:
        """Role of the last non-system message before ``index``."""
        for role in reversed(self.roles[:index]):
            if role not in SYSTEM_ROLES:
                return role
        return ""

    def _block(self, first: int, end: int) -> list[JSON]:
        """The summary of rounds ``[first, end)`` as messages (none when empty)."""
        if first >= end:
            return []
        parts = [(a, b, self.segment(a, b).text) for a, b in self._ranges(first, end)]
        after = self.roles[self.start(end)] if self.start(end) < len(self.messages) else ""
        text = running_summary(parts, self.wording)
        return summary_block(self._before(self.start(first)), after, text, self.wording)

    def summary(self, summarised: int) -> tuple[list[JSON], int]:
        """The messages standing for rounds ``[0, summarised)`` and their tokens."""
        if summarised <= 0:
            return [], 0
        found = self._summaries.get(summarised)
        if found is None:
            pin = self.pin
            pinned: range = range(0)
            if pin is None or pin >= summarised:
                block = self._block(0, summarised)
            else:
                pinned = range(self.start(pin), self.start(pin + 1))
                block = self._block(0, pin)
                block += [self.messages[i] for i in pinned]
                block += self._block(pin + 1, summarised)
            block += [
                self.messages[i]
                for i in range(self.start(0), self.start(summarised))
                if i not in pinned and self.roles[i] in SYSTEM_ROLES
            ]
            tokens = sum(self.counter.count_message(as_object(m) or {}) for m in block)
            found = self._summaries[summarised] = (block, tokens)
        return found

    def forget_summaries(self) -> None:
        self._summaries.clear()

    def size(self, levels: Levels) -> int:
        masked, recent, newest = self._regions(levels)
        head = self.head_tokens
        summary = self.summary(levels.summarised)[1]
        shrunk = sum(self._maskable(i, recent)[2] for i in range(masked, recent))
        kept = self.kept[newest] - self.kept[recent]
        last = sum(self._newest(i, levels.newest)[2] for i in range(newest, len(self.messages)))
        return REPLY_PRIMER + head + summary + shrunk + kept + last

    def build(
        self, levels: Levels, *, decide: bool = True
    ) -> tuple[list[JSON], list[MaskedOriginal]]:
        """The messages to forward. ``decide``: a message forwarded rewritten keeps that
        form in every later pass (until summarised), so the prompt cache is broken once
        per message, not each time another rule would pick another form."""
        masked, recent, newest = self._regions(levels)
        out, found, _ = self._head()
        out += self.summary(levels.summarised)[0]
        forms = [self._maskable(i, recent) for i in range(masked, recent)]
        forms += [self._kept(i) for i in range(recent, newest)]
        forms += [self._newest(i, levels.newest) for i in range(newest, len(self.messages))]
        for index, form in enumerate(forms, start=masked):
            message, originals, _ = form
            info = self.history.infos[index]
            if decide and message is not info.message:
                info.sent = form
            out.append(message)
            found += originals
        return out, found
