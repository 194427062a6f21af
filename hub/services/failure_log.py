"""One French log line per failed upstream request, with its journal number and reason.

It listens to the ``metric`` events the recorder publishes once the row is stored, so the
number in the log is the one the dashboard's journal and inspector show.
"""

from __future__ import annotations

import logging

from hub.core.jsontypes import JSONObject, as_object
from hub.services.events import EventBus

FAILED = {"error": "échec", "partial": "flux interrompu"}


def failure_line(row: JSONObject) -> str | None:
    """The log line for a stored request row, or None when it did not fail upstream."""
    status = row.get("status")
    if not isinstance(status, str) or status not in FAILED:
        return None
    reason = str(row.get("error") or "raison inconnue").replace("\n", " ")[:300]
    return (
        f"Requête n° {row.get('id')} en {FAILED[status]} (HTTP {row.get('http_status')}, "
        f"modèle {row.get('model_key')}, fournisseur {row.get('provider')}, session "
        f"{row.get('session_id')}, {row.get('attempts')} tentative(s)) : {reason}"
    )


async def log_failures(bus: EventBus, logger: logging.Logger) -> None:
    """Run until cancelled (the app's lifespan owns the task)."""
    async with bus.subscribe() as queue:
        while True:
            event = await queue.get()
            row = as_object(event.get("request")) if event.get("type") == "metric" else None
            line = failure_line(row) if row is not None else None
            if line is not None:
                logger.warning(line)
