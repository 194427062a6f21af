"""Append-only request journal: the durable queue between a request and its row.

Rows reach the database in batches, after the response; what survives a crash in
between is this journal. Each process appends to its own segment file: one JSON line
when a request starts (what its row would hold if it never ended, status
``interrupted``), one just before the client gets its answer (status, upstream usage),
and one with the final row when its tokens had to be estimated. Each line is a single
``os.write`` on an ``O_APPEND`` descriptor: once the call returns, the line is in the
kernel's page cache and survives ``kill -9`` of the process (not a power loss or a
kernel crash: there is no fsync, which would cost milliseconds per request).

A live segment is held with ``flock``; the kernel drops the lock when the process
dies, however it dies. At start, ``orphans`` lists the unlocked segments of the same
database; the caller stores their rows (``replay``: later lines of a request id win)
and deletes them. A segment is deleted as soon as every request started in it is
committed to the database and a newer segment is current.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hub.core.jsoncodec import dumps, loads
from hub.core.jsontypes import JSONObject, as_object, as_str

SEGMENT_BYTES = 8 * 1024 * 1024


@dataclass
class _Segment:
    path: Path
    fd: int
    size: int = 0
    open_ids: set[str] = field(default_factory=set)


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Journal:
    """One process's journal segments for one database. Not thread-safe: one event loop."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self._directory = directory
        self._prefix = prefix
        self._ids: dict[str, _Segment] = {}
        self._current = self._new_segment()

    @staticmethod
    def location(database: Path) -> tuple[Path, str]:
        """Journal directory and file prefix of a database file."""
        return database.parent / "journal", database.name

    def _new_segment(self) -> _Segment:
        self._directory.mkdir(parents=True, exist_ok=True)
        name = f"{self._prefix}.{time.time_ns()}.{os.getpid()}.jsonl"
        path = self._directory / name
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        if not _lock(fd):  # pragma: no cover - a fresh O_EXCL file is ours alone
            os.close(fd)
            raise OSError(f"verrou impossible sur {path}")
        return _Segment(path, fd)

    def _append(self, kind: str, entries: list[tuple[str, JSONObject]]) -> _Segment:
        data = b"".join([dumps({"k": kind, "id": rid, "row": row}) + b"\n" for rid, row in entries])
        segment = self._current
        written = os.write(segment.fd, data)
        if written != len(data):
            raise OSError(f"écriture partielle du journal ({written}/{len(data)} octets)")
        segment.size += written
        return segment

    def started(self, request_id: str, row: JSONObject) -> None:
        """The row left if the request never ends. Raises ``OSError`` (disk full…)."""
        segment = self._append("start", [(request_id, row)])
        segment.open_ids.add(request_id)
        self._ids[request_id] = segment

    def answered(self, request_id: str, facts: JSONObject) -> None:
        """What the client is about to see (status, upstream usage), merged into the start row.

        Written before the answer's last byte leaves, so a ``kill -9`` an instant after a
        client got its answer still finds it. Raises ``OSError``.
        """
        self._append("ans", [(request_id, facts)])

    def ended(self, entries: list[tuple[str, JSONObject]]) -> None:
        """Final rows (one write for a batch). Raises ``OSError``; they are then in memory."""
        if entries:
            self._append("end", entries)

    def committed(self, request_ids: Iterable[str]) -> None:
        """These rows are in the database: their segments may go."""
        touched: dict[int, _Segment] = {}  # once each: a segment is closed only once
        for request_id in request_ids:
            segment = self._ids.pop(request_id, None)
            if segment is not None:
                segment.open_ids.discard(request_id)
                touched[id(segment)] = segment
        for segment in touched.values():
            if segment is not self._current and not segment.open_ids:
                self._drop(segment)
        if self._current.size > SEGMENT_BYTES:
            old, self._current = self._current, self._new_segment()
            if not old.open_ids:
                self._drop(old)

    @property
    def pending(self) -> int:
        """Requests started whose rows are not committed yet."""
        return len(self._ids)

    def _drop(self, segment: _Segment) -> None:
        os.close(segment.fd)
        segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete every segment whose rows are all committed; keep (and unlock) the rest."""
        segments = {id(s): s for s in [*self._ids.values(), self._current]}
        for segment in segments.values():
            if segment.open_ids:
                os.close(segment.fd)
            else:
                self._drop(segment)
        self._ids.clear()


def orphans(directory: Path, prefix: str) -> list[Path]:
    """Segments of this database that no live process holds (their writer died)."""
    found: list[Path] = []
    for path in sorted(directory.glob(f"{prefix}.*.jsonl")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            if _lock(fd):
                found.append(path)
        finally:
            os.close(fd)  # closing drops our lock: the file is ours to replay
    return found


def replay(paths: Iterable[Path]) -> list[JSONObject]:
    """Each request id's lines merged in order (start row, answer facts, final row)."""
    rows: dict[str, JSONObject] = {}
    for path in paths:
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    entry = as_object(loads(raw))
                except ValueError:  # a line cut by a full disk: nothing to recover
                    continue
                request_id = as_str((entry or {}).get("id"))
                row = as_object((entry or {}).get("row"))
                if request_id and row is not None:
                    rows[request_id] = {**rows.get(request_id, {}), **row}
    return list(rows.values())
