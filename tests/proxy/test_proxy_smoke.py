import httpx2
from openai import AsyncOpenAI

from tests.support.fake_upstream import REPLY, FakeUpstream


async def test_non_streaming_roundtrip(
    openai_client: AsyncOpenAI, http: httpx2.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    reply = await openai_client.chat.completions.create(
        model="fake/echo", messages=[{"role": "user", "content": "salut"}]
    )
    assert reply.choices[0].message.content == REPLY
    assert fake_upstream.received[0]["model"] == "echo"
    stats = (await http.get("/api/stats")).json()
    assert stats["totals"]["requests"] == 1


async def test_streaming_roundtrip(openai_client: AsyncOpenAI, http: httpx2.AsyncClient) -> None:
    stream = await openai_client.chat.completions.create(
        model="fake/echo", messages=[{"role": "user", "content": "salut"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == REPLY
