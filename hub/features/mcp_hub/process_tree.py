"""Every descendant of a stdio child, found at stop time without cgroups (Linux ``/proc``).

A child runs in its own session, so one ``killpg`` reaches what it starts, until a
descendant calls ``setsid()`` (a daemon does) or ``setpgid()``: it then leaves the group,
and when its parent dies it is re-parented to init, out of any tree walk. Two marks
survive both moves and are looked up when the child is stopped:
- ``KIMI_PROXY_MCP_TAG=<random>`` in the child's environment, inherited by every
  descendant (``/proc/PID/environ`` keeps the environment a process was started with);
- the parent links (``/proc/PID/stat``), for descendants still attached to the tree.
Not found: a descendant that is started with a cleared environment *and* is orphaned
before the stop. Closing that gap needs cgroups (a systemd scope), which a hub run from
a terminal does not have.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
from pathlib import Path

PROC = Path("/proc")
TAG_VARIABLE = "KIMI_PROXY_MCP_TAG"
logger = logging.getLogger(__name__)


def new_tag() -> str:
    return secrets.token_hex(12)


def _stat(pid: str) -> tuple[int, int, int] | None:
    """(parent pid, process group, session) of a live, non-zombie process."""
    try:
        text = (PROC / pid / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2]), int(fields[3])


def _tagged(pid: str, marker: bytes) -> bool:
    try:
        return marker in (PROC / pid / "environ").read_bytes()
    except OSError:  # gone, or another user's: not ours
        return False


def members(leader: int, tag: str) -> set[int]:
    """Live processes of ``leader``'s tree, session or tag (blocking: run in a thread)."""
    if not PROC.is_dir():
        return set()
    marker = f"{TAG_VARIABLE}={tag}\0".encode()
    children: dict[int, list[int]] = {}
    found: set[int] = set()
    for entry in os.listdir(PROC):
        if not entry.isdigit():
            continue
        facts = _stat(entry)
        if facts is None:
            continue
        pid, (parent, group, session) = int(entry), facts
        children.setdefault(parent, []).append(pid)
        if leader in (group, session) or _tagged(entry, marker):
            found.add(pid)
    stack = [leader, *found]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found.discard(os.getpid())  # never the hub itself
    return found


def signal_each(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue  # already gone
        except PermissionError:  # it changed user: nothing of ours to end
            logger.warning("processus %d : signal refusé", pid)
