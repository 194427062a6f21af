"""Counting a long conversation after one new message (the per-message cache hit path).

    python scripts/bench.py counting [--reps N]

A synthetic 200-message conversation of ~128k cl100k_base tokens is counted once
(cold); then each repetition appends one new, never-seen message to a freshly parsed
copy of the history (as the hub sees each request: new string objects, so no cached
``str`` hashes) and times ``count_chat`` and ``count_chat_async``: 200 cache hits and
one miss.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from hub.core.jsontypes import JSON
from hub.core.tokens import TokenCounter, load_encoding

WORDS = (
    "def return self import async await class None True False value error file path "
    "test assert config session token proxy stream client server request response json "
    "fonction erreur fichier chemin données résultat requête réponse modèle contexte "
    "0 1 2 42 100 3.14 == != <= >= ( ) [ ] { } : , . -> / _ ' \" \n"
).split(" ")


def conversation(messages: int = 200, tokens: int = 128_000, seed: int = 7) -> list[JSON]:
    """Alternating user/assistant messages of pseudo-code prose, ~``tokens`` in all."""
    rng = random.Random(seed)
    per_message = tokens // messages
    history: list[JSON] = [{"role": "system", "content": "Tu es un agent de programmation."}]
    for index in range(messages - 1):
        words = [rng.choice(WORDS) for _ in range(int(per_message * 0.845))]
        role = "user" if index % 2 == 0 else "assistant"
        history.append({"role": role, "content": f"[{index}] " + " ".join(words)})
    return history


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def counting_report(reps: int) -> list[str]:
    counter = TokenCounter(load_encoding())
    history = conversation()
    encoded = json.dumps(history, ensure_ascii=False)
    started = time.perf_counter()
    total = counter.count_chat(history)
    cold_ms = (time.perf_counter() - started) * 1000
    timings: dict[str, list[float]] = {"count_chat": [], "count_chat_async": []}
    for rep in range(reps):
        for name, samples in timings.items():
            fresh = json.loads(encoded)  # new string objects, like a parsed request body
            fresh.append(
                {
                    "role": "user",
                    "content": f"Nouvelle question {name} {rep} : "
                    "pourquoi ce test échoue-t-il sur test_proxy.py ?",
                }
            )
            started = time.perf_counter()
            if name == "count_chat":
                counter.count_chat(fresh)
            else:
                await counter.count_chat_async(fresh)
            samples.append((time.perf_counter() - started) * 1000)
    lines = [
        f"comptage : {len(history)} messages, {total} tokens cl100k_base ; "
        f"premier comptage (à froid) {cold_ms:.1f} ms ; puis {reps} fois + 1 nouveau message :",
        "",
        "| fonction | p50 ms | p99 ms |",
        "| --- | ---: | ---: |",
    ]
    for name, samples in timings.items():
        lines.append(f"| {name} | {_pct(samples, 0.5):.3f} | {_pct(samples, 0.99):.3f} |")
    return lines


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench counting")
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    print("\n".join(await counting_report(args.reps)))
