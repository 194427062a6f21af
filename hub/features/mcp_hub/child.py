"""The stdio transport of an upstream child: the process is ours to watch and to end.

The SDK's ``stdio_client`` hides the process, so an exit is only seen at the next ping.
Here the child runs in its own session (process group); its exit is seen within
``EXIT_POLL`` s (the return code, not pipe EOF: a grandchild may keep the pipes open),
its last stderr lines are kept, and closing ends every descendant: stdin closed, a grace
period, SIGTERM to the group and to each process ``process_tree.members`` finds (those
that left the group with ``setsid()`` included), then SIGKILL to whatever is left, even
when the leader already exited (its children would otherwise be orphans).

The child is not trusted: its stdout is read by ``stdout.read_messages`` (linear time,
a size cap, progress floods thinned); stderr keeps only the head of each line, whatever
its length.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from anyio.abc import Process
from mcp.client._transport import TransportStreams
from mcp.shared.message import SessionMessage

from hub.config import McpLimits, McpServerConfig
from hub.features.mcp_hub.child_env import child_environment
from hub.features.mcp_hub.lines import LineSplitter, Oversized
from hub.features.mcp_hub.process_tree import TAG_VARIABLE, members, new_tag, signal_each
from hub.features.mcp_hub.stdout import read_messages

logger = logging.getLogger(__name__)
EXIT_POLL = 0.05
STOP_GRACE = 2.0
KILL_GRACE = 1.0
STDERR_LINES = 20
STDERR_LINE_CHARS = 300
STDERR_LINE_BYTES = 4096  # kept of a stderr line before its head alone is kept

ExitListener = Callable[[int], None]


class ChildOutput:
    """What the last child said on stderr and how it ended (kept across restarts)."""

    def __init__(self) -> None:
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.pid: int | None = None

    def note_stderr(self, line: bytes | Oversized) -> None:
        raw = line.head if isinstance(line, Oversized) else line
        text = raw[:STDERR_LINE_CHARS].decode(errors="replace")
        if text.strip():
            self.stderr.append(text)


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    """Signal the process group ``pid`` leads; False when nothing of it is left."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed user: nothing of ours to end
        logger.warning("groupe de processus %d : signal refusé", pid)
        return False
    return True


def exit_reason(code: int, last_stderr: str | None) -> str:
    """French: how a child ended, with its last stderr line."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"le signal {-code}"
        reason = f"processus arrêté par {name} (code {code})"
    else:
        reason = f"processus terminé (code {code})"
    return f"{reason} ; stderr : {last_stderr}" if last_stderr else reason


async def _poll_exit(process: Process, gone: anyio.Event) -> None:
    # Polling on purpose: process.wait() also waits for pipe EOF, which a grandchild
    # holding stdout would delay forever.
    while process.returncode is None:  # noqa: ASYNC110
        await anyio.sleep(EXIT_POLL)
    gone.set()


async def _exited(gone: anyio.Event, limit: float) -> bool:
    with anyio.move_on_after(limit):
        await gone.wait()
    return gone.is_set()


async def _stop(process: Process, gone: anyio.Event, tag: str) -> None:
    """Close stdin, wait, SIGTERM every descendant, wait, SIGKILL them (always, last)."""
    if process.stdin is not None:
        try:
            await process.stdin.aclose()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass  # the child is already gone: only its descendants may remain
    await _exited(gone, STOP_GRACE)
    found = await anyio.to_thread.run_sync(members, process.pid, tag)
    _signal_group(process.pid, signal.SIGTERM)
    signal_each(found, signal.SIGTERM)
    if found or not gone.is_set():
        await _exited(gone, KILL_GRACE)
    found |= await anyio.to_thread.run_sync(members, process.pid, tag)  # forked meanwhile
    _signal_group(process.pid, signal.SIGKILL)  # grandchildren that outlived the leader
    signal_each(found, signal.SIGKILL)
    await _exited(gone, KILL_GRACE)


@asynccontextmanager
async def child_transport(
    config: McpServerConfig, output: ChildOutput, on_exit: ExitListener, limits: McpLimits
) -> AsyncIterator[TransportStreams]:
    assert config.command is not None
    tag = new_tag()
    # Shielded: a cancellation delivered while the spawn completes would leak the child
    # (nothing below would stop it). It is delivered at the first await of the block.
    with anyio.CancelScope(shield=True):
        process = await anyio.open_process(
            [config.command, *config.args],
            env=child_environment(os.environ, config.env) | {TAG_VARIABLE: tag},
            cwd=config.cwd,
            start_new_session=True,
        )
    output.pid = process.pid
    output.stderr.clear()
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)

    async def read_stdout() -> None:
        assert process.stdout is not None
        async with read_writer:
            try:
                await read_messages(process.stdout, read_writer, config.name, limits)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the session is gone, or our own shutdown closed the pipe
            eof.set()  # the child closed stdout on its own: it exited or will

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((data + "\n").encode())
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await read_writer.aclose()  # the child stopped reading: end the session's wait

    async def read_stderr() -> None:
        assert process.stderr is not None
        splitter = LineSplitter(STDERR_LINE_BYTES)
        try:
            async for chunk in process.stderr:
                for line in splitter.feed(chunk):
                    output.note_stderr(line)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # our own shutdown closed the pipe
        rest = splitter.rest()
        if rest is not None:
            output.note_stderr(rest)
        stderr_done.set()

    gone, eof, stderr_done, reported = anyio.Event(), anyio.Event(), anyio.Event(), anyio.Event()

    def report() -> None:
        if process.returncode is not None and not reported.is_set():
            reported.set()
            on_exit(process.returncode)

    async def watch_exit() -> None:
        await _poll_exit(process, gone)
        with anyio.move_on_after(EXIT_POLL * 4):  # let the last stderr lines arrive
            await stderr_done.wait()
        report()

    async with anyio.create_task_group() as group:
        for task in (read_stdout, write_stdin, read_stderr, watch_exit):
            group.start_soon(task)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                crashed = eof.is_set() or process.returncode is not None  # before we stopped it
                write_stream.close()
                read_stream.close()
                await _stop(process, gone, tag)
                if crashed:  # the session saw EOF before the exit poll did: report it now
                    with anyio.move_on_after(EXIT_POLL * 4):
                        await stderr_done.wait()
                    report()
                with anyio.move_on_after(KILL_GRACE):  # a survivor of SIGKILL is not waited on
                    await process.aclose()
            group.cancel_scope.cancel()
