"""One French log line per failed upstream request, with its journal number and reason.

A ``RequestRecorder`` observer: it sees each row once stored, so the number in the log is
the one the dashboard's journal and inspector show. Each replica logs its own requests.
"""

from __future__ import annotations

import logging

from hub.core.records import RequestRecord

FAILED = {"error": "échec", "partial": "flux interrompu"}


def failure_line(row: RequestRecord) -> str | None:
    """The log line for a stored request row, or None when it did not fail upstream."""
    if row.status not in FAILED:
        return None
    reason = (row.error or "raison inconnue").replace("\n", " ")[:300]
    return (
        f"Requête n° {row.id} en {FAILED[row.status]} (HTTP {row.http_status}, "
        f"modèle {row.model_key}, fournisseur {row.provider}, session "
        f"{row.session_id}, {row.attempts} tentative(s)) : {reason}"
    )


def log_failure(logger: logging.Logger, row: RequestRecord) -> None:
    line = failure_line(row)
    if line is not None:
        logger.warning(line)
