"""Query-string readers shared by the REST routes: one request filter, French 400s.

``request_filter`` is the one reader of the journal filters (analytics, journal search,
exports): ``from`` / ``to`` (``YYYY-MM-DD`` in the ``tz`` zone, ``to`` included; an ISO
8601 date-time, in ``tz`` when it has no offset; or epoch seconds), ``tz`` (minutes east
of UTC, 0 by default), ``model``, ``provider``, ``session``, ``key`` (virtual key id),
``status`` (ok, error, partial, cancelled, interrupted, failed) and ``q`` (text in the
error). ``int_param`` reads every numeric query parameter (``limit``, ``before``…):
ASCII digits only (``hub.core.ids.ascii_int``), so ``²`` or ``١٢`` is a 400, not a number.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

from starlette.datastructures import QueryParams

from hub.core.errors import HubError
from hub.core.ids import ascii_int
from hub.core.storage.queries import STATUSES, RequestFilter
from hub.services.sessions.service import parse_session_id

MAX_TEXT = 200
DAY = 86_400
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
EPOCH = re.compile(r"^\d{1,12}(\.\d{1,9})?$", re.ASCII)
INSTANT = "date AAAA-MM-JJ, date-heure ISO 8601 ou secondes depuis 1970 attendue"


def bad(name: str, expected: str) -> HubError:
    return HubError(f"Paramètre « {name} » invalide : {expected}.", param=name)


def text_param(params: QueryParams, name: str) -> str | None:
    raw = params.get(name, "").strip()
    if len(raw) > MAX_TEXT:
        raise bad(name, f"{MAX_TEXT} caractères au plus")
    return raw or None


def int_param(params: QueryParams, name: str, default: int | None, maximum: int) -> int | None:
    """A positive integer in ASCII digits (``hub.core.ids.ascii_int``), capped at ``maximum``."""
    raw = params.get(name, "")
    if not raw:
        return default
    value = ascii_int(raw)
    if value is None or value <= 0:
        raise bad(name, "entier positif attendu")
    return min(value, maximum)


def _offset_s(params: QueryParams) -> int:
    """``tz``: minutes east of UTC, an optional sign then ASCII digits."""
    raw = params.get("tz", "") or "0"
    signed = raw[:1] in ("-", "+")
    minutes = ascii_int(raw[1:] if signed else raw)
    if minutes is None or minutes > 840:
        raise bad("tz", "minutes à l'est de UTC, entre -840 et 840")
    return (-minutes if raw[:1] == "-" else minutes) * 60


def _instant(params: QueryParams, name: str, offset_s: int, *, end: bool) -> float | None:
    """A day (midnight in ``tz``; ``to`` means the end of that day), a date-time or epoch."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    zone = timezone(timedelta(seconds=offset_s))
    try:
        if ISO_DAY.match(raw):
            day = date.fromisoformat(raw)
            value = float(calendar.timegm(day.timetuple()) - offset_s + (DAY if end else 0))
        elif EPOCH.match(raw):
            value = float(raw)
        elif raw.isascii():
            moment = datetime.fromisoformat(raw)
            value = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()
        else:
            raise ValueError(raw)
    except (ValueError, OverflowError):
        raise bad(name, INSTANT) from None
    if not 0 <= value < 2**33:
        raise bad(name, "date hors limites")
    return value


def time_range(params: QueryParams) -> tuple[float | None, float | None, int]:
    """``from`` / ``to`` as epoch seconds (``to`` excluded) and the ``tz`` offset in seconds."""
    offset = _offset_s(params)
    since = _instant(params, "from", offset, end=False)
    until = _instant(params, "to", offset, end=True)
    if since is not None and until is not None and until <= since:
        raise bad("to", "la fin doit suivre le début")
    return since, until, offset


def request_filter(params: QueryParams) -> tuple[RequestFilter, int]:
    """The journal filters of a query string and the ``tz`` offset in seconds."""
    since, until, offset = time_range(params)
    status = text_param(params, "status")
    if status is not None and status not in STATUSES:
        raise bad("status", f"une de ces valeurs : {', '.join(STATUSES)}")
    session = text_param(params, "session")
    where = RequestFilter(
        since=since,
        until=until,
        model=text_param(params, "model"),
        provider=text_param(params, "provider"),
        session_id=parse_session_id(session) if session else None,
        key_id=text_param(params, "key"),
        status=status,
        text=text_param(params, "q"),
    )
    return where, offset
