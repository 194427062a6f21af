"""A small OpenAI-compatible upstream for tests and benchmarks.

The upstream model name picks the behaviour: ``echo`` (default), ``no-usage``,
``slow`` (waits ``delay`` seconds before each chunk but the first), ``flaky`` (429 then
OK), ``down`` (always 500), ``cut`` (stream dies mid-way), ``hang`` (never answers), ``bad``
(400 with an OpenAI error), ``echo-key`` (400 whose message repeats the Authorization
header it received, like a careless upstream; ``echo-key-escaped``, ``-base64``, ``-sse``
and ``-ok`` echo it JSON-escaped, in base64, in an SSE error event, in a 200 answer),
``summarise`` (answers ``SUMMARY`` followed by the number of messages it was given, like
a summariser model would), ``cached`` / ``cached-kimi`` / ``cached-deepseek`` (usage says
half the prompt came from the provider's prompt cache, under OpenAI's, Kimi's or
DeepSeek's field name).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.json_values import Json

REPLY = "Bonjour ! Voici une réponse de test."
SUMMARY = "Résumé LLM de test : l'utilisateur corrige compute_tax_total."


@dataclass
class FakeUpstream:
    received: list[Json] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    delay: float = 0.05
    retry_after: str = "0"
    cancelled: int = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    def _usage(self, body: Json) -> Json:
        prompt = sum(len(str(m.get("content", ""))) // 4 + 4 for m in body["messages"])
        usage: Json = {"prompt_tokens": prompt, "completion_tokens": 9, "total_tokens": prompt + 9}
        model = body.get("model")
        if model == "cached":
            usage["prompt_tokens_details"] = {"cached_tokens": prompt // 2}
        elif model == "cached-kimi":
            usage["cached_tokens"] = prompt // 2
        elif model == "cached-deepseek":
            usage["prompt_cache_hit_tokens"] = prompt // 2
            usage["prompt_cache_miss_tokens"] = prompt - prompt // 2
        return usage

    def _reply(self, body: Json, model: str) -> str:
        return f"{SUMMARY} ({len(body['messages'])} messages)" if model == "summarise" else REPLY

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(body)
        self.headers.append(dict(request.headers))
        model = body.get("model", "echo")
        if model == "flaky" and self.failures.get("flaky", 0) > 0:
            self.failures["flaky"] -= 1
            return JSONResponse(
                {"error": {"message": "rate limited", "type": "rate_limit"}},
                status_code=429,
                headers={"retry-after": self.retry_after},
            )
        if model == "down":
            return JSONResponse({"error": {"message": "boom", "type": "server"}}, 500)
        if model == "bad":
            return JSONResponse(
                {"error": {"message": "bad thing", "type": "invalid_request_error"}}, 400
            )
        if model == "echo-key":
            received = request.headers.get("authorization", "")
            return JSONResponse(
                {"error": {"message": f"en-tête reçu : {received}", "type": "invalid_request"}},
                400,
            )
        if model.startswith("echo-key-"):
            return self._echo_key(model, request.headers.get("authorization", ""))
        if model == "hang":  # never answers; notices when the hub hangs up
            while (await request.receive())["type"] != "http.disconnect":
                continue
            self.cancelled += 1
            return Response(status_code=499)
        if body.get("stream"):
            return StreamingResponse(self._stream(body, model), media_type="text/event-stream")
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self._reply(body, model)},
                    "finish_reason": "stop",
                }
            ],
        }
        if model == "slow":
            await asyncio.sleep(self.delay)
        if model != "no-usage":
            payload["usage"] = self._usage(body)
        # like a provider behind a CDN: a cookie the hub must neither keep nor send back
        return JSONResponse(payload, headers={"set-cookie": "__cf_bm=opaque; Path=/; HttpOnly"})

    def _echo_key(self, model: str, authorization: str) -> Response:
        """The key echoed in the forms a JSON decoder or a base64 decoder reveals."""
        key = authorization.removeprefix("Bearer ")
        if model == "echo-key-escaped":  # every character as a JSON \\u escape
            escaped = "".join(f"\\u{ord(c):04x}" for c in key)
            body = '{"error": {"message": "clé : ' + escaped + '", "type": "x"}}'
            return Response(body.encode(), 401, media_type="application/json")
        if model == "echo-key-base64":
            basic = base64.b64encode(f"user:{key}".encode()).decode()
            return JSONResponse({"error": {"message": f"Basic {basic}", "type": "x"}}, 403)
        if model == "echo-key-sse":
            event = json.dumps({"error": {"message": f"refusé : {authorization}"}})
            chunks = [f"event: error\ndata: {event}\n\n".encode(), b"data: [DONE]\n\n"]
            return StreamingResponse(iter(chunks), media_type="text/event-stream")
        payload = {  # echo-key-ok: a 200 whose answer repeats the key
            "id": "chatcmpl-key", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"Votre clé : {key}"}}],
        }  # fmt: skip
        return JSONResponse(payload)

    async def _stream(self, body: Json, model: str) -> AsyncIterator[bytes]:
        words = REPLY.split(" ")
        base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": model}
        try:
            for index, word in enumerate(words):
                if model == "cut" and index == 3:
                    raise ConnectionResetError("coupure simulée")
                if model == "slow" and index > 0:
                    await asyncio.sleep(self.delay)
                delta = {"content": word if index == 0 else " " + word}
                chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(final)}\n\n".encode()
            options = body.get("stream_options") or {}
            if options.get("include_usage") and model != "no-usage":
                usage = {**base, "choices": [], "usage": self._usage(body)}
                yield f"data: {json.dumps(usage)}\n\n".encode()
            yield b"data: [DONE]\n\n"
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
