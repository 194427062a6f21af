"""Request rows written straight to the store, for tests about what reads them back."""

from __future__ import annotations

import time

from hub.core.records import RequestRecord


def fake_record(session_id: int, index: int, model_key: str = "fake/echo") -> RequestRecord:
    """A successful request of ``session_id``, its figures varied by ``index``."""
    return RequestRecord(
        session_id=session_id, created_at=time.time(), model_key=model_key, provider="fake",
        upstream_model="echo", stream=False, prompt_tokens=100 + index % 50,
        completion_tokens=10 + index % 7, usage_source="upstream", prompt_estimate=98 + index % 50,
        ttfb_ms=None, total_ms=12.5, status="ok", http_status=200, error=None, cost=0.0001,
    )  # fmt: skip
