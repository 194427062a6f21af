"""CSV and JSON exports of the tool-call audit, streamed page by page, oldest first.

Cells follow the request exports (``exports.csv_cell``): ISO 8601 UTC times,
``true``/``false``, plain decimals, formula-looking text neutralised; ``flags`` is one
cell, its values separated by ``|``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from hub.core.jsontypes import JSON
from hub.core.storage.audit import AUDIT_FIELDS, AuditFilter
from hub.services.recording.audit import AuditLog
from hub.services.reporting.exports import csv_cell, csv_text

AUDIT_COLUMNS = ("id", *AUDIT_FIELDS)


def _cell(column: str, value: JSON) -> str:
    if column == "flags" and isinstance(value, list):
        return "|".join(str(flag) for flag in value)
    return csv_cell(column, value)


def audit_csv(audit: AuditLog, where: AuditFilter, separator: str) -> AsyncIterator[str]:
    return csv_text(audit.pages(where), AUDIT_COLUMNS, separator, _cell)


async def audit_json(audit: AuditLog, where: AuditFilter) -> AsyncIterator[str]:
    """``{"audit": […], "count": N}``."""
    yield '{"audit": ['
    separator = ""
    count = 0
    async for page in audit.pages(where):
        texts = [json.dumps(row.to_json(), ensure_ascii=False) for row in page]
        yield separator + ", ".join(texts)
        separator = ", "
        count += len(page)
    yield f'], "count": {count}}}'
