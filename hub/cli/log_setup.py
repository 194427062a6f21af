"""Logging of ``kimi-proxy serve``: a timestamp on every line, French, kept across restarts.

With a log file, the previous run's file is rotated (``hub.log`` → ``hub.log.1`` … ``.5``)
rather than truncated, the file also rotates past 10 MiB, and the process's own stdout and
stderr (tracebacks, MCP children started over stdio, which inherit them) are captured
through a pipe so that their lines get a timestamp too.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path

LEVELS = {
    "DEBUG": "DÉBOGAGE",
    "INFO": "INFO",
    "WARNING": "AVERTISSEMENT",
    "ERROR": "ERREUR",
    "CRITICAL": "CRITIQUE",
}
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
# Lifecycle messages of uvicorn and the mcp SDK, in French (their other lines carry no prose).
UVICORN_FR: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^Started server process", "Processus serveur démarré"),
        (r"^Finished server process", "Processus serveur terminé"),
        (r"^Waiting for application startup\.", "Démarrage de l'application…"),
        (r"^Application startup complete\.", "Application démarrée."),
        (r"^Application startup failed\. Exiting\.", "Échec du démarrage de l'application."),
        (r"^Uvicorn running on", "Hub à l'écoute sur"),
        (r"\(Press CTRL\+C to quit\)", "(Ctrl+C pour arrêter)"),
        (r"^Shutting down", "Arrêt en cours"),
        (r"^Waiting for application shutdown\.", "Arrêt de l'application…"),
        (r"^Application shutdown complete\.", "Application arrêtée."),
        (r"^Waiting for connections to close\.", "Attente de la fermeture des connexions."),
        (r"\(CTRL\+C to force quit\)", "(Ctrl+C pour forcer l'arrêt)"),
        (r"^Waiting for background tasks to complete\.", "Attente des tâches de fond."),
        (r"^StreamableHTTP session manager started", "Sessions MCP (Streamable HTTP) prêtes"),
        (r"^StreamableHTTP session manager shutting down", "Arrêt des sessions MCP"),
    )
)


class StampedFormatter(logging.Formatter):
    """``2026-11-26 11:40:02.123 AVERTISSEMENT hub : …`` on every line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        when = f"{self.formatTime(record, '%Y-%m-%d %H:%M:%S')}.{int(record.msecs):03d}"
        head = f"{when} {LEVELS.get(record.levelname, record.levelname)} {record.name}"
        first, *rest = text.splitlines() or [""]
        return "\n".join([f"{head} : {first}", *(f"{head} | {line}" for line in rest)])


class LibrariesInFrench(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            for pattern, french in UVICORN_FR:
                record.msg = pattern.sub(french, record.msg)
        return True


def _capture_output(logger: logging.Logger) -> None:
    """Point fds 1 and 2 at a pipe whose lines are logged (children inherit them)."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                logger.info(line.rstrip("\n"))

    threading.Thread(target=pump, name="sortie-vers-journal", daemon=True).start()


def configure(level: str, log_file: Path | None = None) -> None:
    """Root logging for ``serve``: stderr, or ``log_file`` rotated at start and by size."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
        if log_file.stat().st_size > 0:  # keep the previous run: rotate, never truncate
            rotating.doRollover()
        handler = rotating
    handler.setFormatter(StampedFormatter())
    handler.addFilter(LibrariesInFrench())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    if log_file is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        _capture_output(logging.getLogger("sortie"))
