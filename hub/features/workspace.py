"""Every file access of the MCP tools goes through ``WorkspaceGuard``.

A path is accepted only if its real path (symlinks resolved) stays under the root.
Checking the name is not enough against a swap between check and use, so files
and directories are opened with ``O_NOFOLLOW`` and the opened descriptor's real
path (``/proc/self/fd``, else its inode) is compared with the checked one. Writes
go to a temporary file in the same directory, then ``os.replace``: a reader sees
the old file or the new one, never half of it. Blocking calls run in a thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from hub.config import McpLimits
from hub.core.errors import HubError

MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 255
SEARCH_DEPTH = 32
SEARCH_FILES = 20_000
SEARCH_FILE_BYTES = 1024 * 1024
PROC_FD = Path("/proc/self/fd")
OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us


class WorkspaceError(HubError):
    def __init__(self, message: str, code: str = "workspace_denied") -> None:
        super().__init__(message, status=403, code=code)


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the root, "/" separators
    kind: str  # "file", "dir", "symlink", "other"
    size: int


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "symlink" if stat.S_ISLNK(mode) else "other"


class WorkspaceGuard:
    def __init__(self, root: Path, max_file_bytes: int = McpLimits.max_file_bytes) -> None:
        real = Path(os.path.realpath(root))
        if not real.is_dir():
            raise WorkspaceError(f"Espace de travail introuvable : {root}", "workspace_missing")
        self.root = real
        self.max_file_bytes = max_file_bytes  # [mcp].max_file_bytes: larger files are refused

    # -- checking names ----------------------------------------------------------------

    def _check_text(self, raw: str) -> None:
        if len(raw) > MAX_PATH_CHARS:
            raise WorkspaceError("Chemin trop long.", "path_too_long")
        if any(ord(c) < 32 or ord(c) == 127 for c in raw):
            raise WorkspaceError("Chemin invalide : caractère nul ou de contrôle.", "path_invalid")
        parts = Path(raw).parts
        if ".." in parts:
            raise WorkspaceError("Chemin refusé : « .. » n'est pas permis.", "path_outside")
        if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts):
            raise WorkspaceError("Nom de fichier trop long.", "path_too_long")

    def resolve(self, raw: str) -> Path:
        """The real path for ``raw`` (relative to the root, or absolute inside it)."""
        self._check_text(raw)
        candidate = Path(raw) if os.path.isabs(raw) else self.root / raw
        real = Path(os.path.realpath(candidate))
        if real != self.root and not real.is_relative_to(self.root):
            raise WorkspaceError("Chemin refusé : il sort de l'espace de travail.", "path_outside")
        try:
            mode = os.lstat(real).st_mode
        except FileNotFoundError:
            return real
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise WorkspaceError(
                "Type de fichier refusé (périphérique, FIFO ou socket).", "path_special"
            )
        return real

    def relative(self, real: Path) -> str:
        return "." if real == self.root else real.relative_to(self.root).as_posix()

    # -- opening -------------------------------------------------------------------------

    def _verify_fd(self, fd: int, expected: Path) -> os.stat_result:
        """The opened descriptor must be the checked path (beats check/use swaps)."""
        info = os.fstat(fd)
        if PROC_FD.is_dir():
            actual = Path(os.readlink(PROC_FD / str(fd)))
            same = actual == expected
        else:
            now = os.stat(expected, follow_symlinks=False)
            same = (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)
        if not same:
            raise WorkspaceError("Chemin modifié pendant l'accès ; opération annulée.", "path_race")
        return info

    def _open(self, real: Path, flags: int) -> tuple[int, os.stat_result]:
        try:
            fd = os.open(real, flags | OPEN_FLAGS)
        except FileNotFoundError:
            raise WorkspaceError(f"Introuvable : {self.relative(real)}", "not_found") from None
        except IsADirectoryError:
            raise WorkspaceError("C'est un dossier, pas un fichier.", "is_directory") from None
        except NotADirectoryError:
            raise WorkspaceError("Ce n'est pas un dossier.", "not_directory") from None
        except OSError as exc:
            raise WorkspaceError(f"Accès impossible : {exc.strerror}", "os_error") from None
        try:
            return fd, self._verify_fd(fd, real)
        except BaseException:
            os.close(fd)
            raise

    # -- blocking operations (run in a thread) ---------------------------------------------

    def _read(self, raw: str, max_bytes: int) -> tuple[bytes, int]:
        real = self.resolve(raw)
        fd, info = self._open(real, os.O_RDONLY)
        try:
            if not stat.S_ISREG(info.st_mode):
                raise WorkspaceError("Seuls les fichiers ordinaires se lisent.", "path_special")
            if info.st_size > self.max_file_bytes:  # a 5 GB sparse file is not read at all
                raise WorkspaceError(
                    f"Fichier trop grand : {info.st_size} octets, au-delà de la limite "
                    f"[mcp].max_file_bytes ({self.max_file_bytes} octets).",
                    "file_too_large",
                )
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(max_bytes), info.st_size
        finally:
            os.close(fd)

    def _write(self, raw: str, data: bytes) -> Path:
        return self._replace(self.resolve(raw), data)

    def _replace(self, real: Path, data: bytes) -> Path:
        if real == self.root or os.path.isdir(real):
            raise WorkspaceError("Impossible d'écrire sur un dossier.", "is_directory")
        dir_fd, _info = self._open(real.parent, os.O_RDONLY | os.O_DIRECTORY)
        tmp = f".{real.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | OPEN_FLAGS, 0o644, dir_fd=dir_fd
            )
            try:
                with os.fdopen(fd, "wb", closefd=False) as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(fd)
            finally:
                os.close(fd)
            # replace() acts on the directory entry: a symlink planted there is replaced,
            # never followed.
            os.replace(tmp, real.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass  # already renamed or never created: nothing to clean
            raise
        finally:
            os.close(dir_fd)
        return real

    def _scan(self, real: Path) -> list[Entry]:
        fd, _info = self._open(real, os.O_RDONLY | os.O_DIRECTORY)
        try:
            entries: list[Entry] = []
            with os.scandir(fd) as it:
                for item in it:
                    st = item.stat(follow_symlinks=False)
                    rel = self.relative(real / item.name)
                    entries.append(Entry(rel, _kind(st.st_mode), st.st_size))
            return sorted(entries, key=lambda e: e.path)
        finally:
            os.close(fd)

    def _walk(
        self, raw: str, max_depth: int, max_entries: int, tick: Callable[[int], None]
    ) -> tuple[list[Entry], bool]:
        """Breadth-first listing; symlinks are listed, never followed."""
        start = self.resolve(raw)
        queue: list[tuple[Path, int]] = [(start, 1)]
        found: list[Entry] = []
        while queue:
            directory, depth = queue.pop(0)
            for entry in self._scan(directory):
                found.append(entry)
                if len(found) % 200 == 0:
                    tick(len(found))
                if len(found) >= max_entries:
                    return found, True
                if entry.kind == "dir" and depth < max_depth:
                    queue.append((self.root / entry.path, depth + 1))
        return found, False

    def _search(
        self, raw: str, needle: str, max_results: int, tick: Callable[[int], None]
    ) -> tuple[list[tuple[str, int, str]], int, bool]:
        """Literal (never regex: no catastrophic backtracking) line search in text files."""
        files, _ = self._walk(raw, SEARCH_DEPTH, SEARCH_FILES, lambda n: None)
        hits: list[tuple[str, int, str]] = []
        scanned = 0
        for entry in files:
            if entry.kind != "file" or entry.size > SEARCH_FILE_BYTES:
                continue
            data, _ = self._read(entry.path, SEARCH_FILE_BYTES)
            scanned += 1
            if scanned % 100 == 0:
                tick(scanned)
            if b"\0" in data[:8192]:
                continue  # binary
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if needle in line:
                    hits.append((entry.path, number, line[:300]))
                    if len(hits) >= max_results:
                        return hits, scanned, True
        return hits, scanned, False

    # -- async API -----------------------------------------------------------------------

    async def read_bytes(self, raw: str, max_bytes: int) -> tuple[bytes, int]:
        """Up to ``max_bytes`` of a file, and its full size."""
        return await anyio.to_thread.run_sync(self._read, raw, max_bytes)

    async def write_bytes(self, raw: str, data: bytes) -> str:
        real = await anyio.to_thread.run_sync(self._write, raw, data)
        return self.relative(real)

    async def list_dir(self, raw: str) -> list[Entry]:
        real = await anyio.to_thread.run_sync(self.resolve, raw)
        return await anyio.to_thread.run_sync(self._scan, real)

    async def walk(
        self, raw: str, max_depth: int, max_entries: int, tick: Callable[[int], None]
    ) -> tuple[list[Entry], bool]:
        return await anyio.to_thread.run_sync(self._walk, raw, max_depth, max_entries, tick)

    async def search(
        self, raw: str, needle: str, max_results: int, tick: Callable[[int], None]
    ) -> tuple[list[tuple[str, int, str]], int, bool]:
        return await anyio.to_thread.run_sync(self._search, raw, needle, max_results, tick)
