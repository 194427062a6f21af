"""WorkspaceGuard against hostile paths, races and partial writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.features.workspace import WorkspaceError, WorkspaceGuard


@pytest.fixture
def layout(tmp_path: Path) -> tuple[WorkspaceGuard, Path, Path]:
    """A workspace with honest files and planted escapes; ``outside`` holds a secret."""
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    (root / "src" / "deep").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "src" / "ok.txt").write_text("ok")
    (root / "%2e%2e").mkdir()  # a literal name, not an encoded ".."
    (root / "link_out").symlink_to(outside)  # symlinked parent pointing out
    (root / "secret_link").symlink_to(outside / "secret.txt")
    (root / "passwd_link").symlink_to("/etc/passwd")
    (root / "dangling").symlink_to(outside / "nope.txt")
    (root / "relative_out").symlink_to("../outside/secret.txt")
    (root / "loop").symlink_to(root / "loop")
    (root / "inside_link").symlink_to(root / "src" / "ok.txt")
    (root / "src" / "up").symlink_to("..")  # points at the root: allowed
    (root / "src" / "upup").symlink_to("../..")  # points above the root
    os.mkfifo(root / "fifo")
    (root / "zero").symlink_to("/dev/zero")
    return WorkspaceGuard(root), root, outside


HOSTILE = [
    "../outside/secret.txt",
    "..",
    "../",
    "src/../../outside/secret.txt",
    "src/deep/../../../x",
    "/etc/passwd",
    "/etc",
    "/",
    "/tmp",
    "link_out/secret.txt",
    "link_out",
    "secret_link",
    "passwd_link",
    "dangling",
    "relative_out",
    "src/upup/outside/secret.txt",
    "src/upup",
    "fifo",
    "zero",
    "/dev/zero",
    "/dev/null",
    "/proc/self/environ",
    "ok\x00.txt",
    "\x00",
    "src/\x01bell",
    "a\nb",
    "a" * 300,
    "a/" * 3000,
    ("x" * 200 + "/") * 30,
    "./../outside",
    "src/./../..",
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_paths_are_refused(
    layout: tuple[WorkspaceGuard, Path, Path], raw: str
) -> None:
    guard, _, outside = layout
    with pytest.raises(WorkspaceError) as info:
        await guard.read_bytes(raw, 100)
    assert info.value.message  # French message, no traceback
    with pytest.raises(WorkspaceError):
        await guard.write_bytes(raw, b"pwned")
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (outside / "nope.txt").exists()


def test_loop_symlink_is_refused(layout: tuple[WorkspaceGuard, Path, Path]) -> None:
    guard, _, _ = layout
    # realpath gives up on the loop and leaves the name inside: opening it must fail cleanly.
    with pytest.raises(WorkspaceError):
        guard._read("loop", 10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("src/ok.txt", "src/ok.txt"),
        ("./src/ok.txt", "src/ok.txt"),
        ("inside_link", "src/ok.txt"),
        ("src/up/src/ok.txt", "src/ok.txt"),
        ("%2e%2e", "%2e%2e"),
        ("..%2f..%2fetc", "..%2f..%2fetc"),
        ("..\\..\\etc", "..\\..\\etc"),
        ("", "."),
        (".", "."),
    ],
)
def test_accepted_paths_stay_inside(
    layout: tuple[WorkspaceGuard, Path, Path], raw: str, expected: str
) -> None:
    guard, root, _ = layout
    real = guard.resolve(raw)
    assert real.is_relative_to(root.resolve())
    assert guard.relative(real) == expected


def test_absolute_path_inside_root_is_accepted(layout: tuple[WorkspaceGuard, Path, Path]) -> None:
    guard, root, _ = layout
    assert guard.relative(guard.resolve(str(root / "src" / "ok.txt"))) == "src/ok.txt"


PATH_ALPHABET = st.sampled_from(
    ["..", ".", "src", "link_out", "secret_link", "src/up", "src/upup", "/", "%2e", "a", "\\"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(PATH_ALPHABET, max_size=8), absolute=st.booleans())
def test_no_accepted_path_resolves_outside(
    layout: tuple[WorkspaceGuard, Path, Path], parts: list[str], absolute: bool
) -> None:
    guard, root, _ = layout
    raw = "/".join(parts)
    if absolute:
        raw = str(root) + "/" + raw
    try:
        real = guard.resolve(raw)
    except WorkspaceError:
        return
    resolved = Path(os.path.realpath(real))
    assert resolved == root.resolve() or resolved.is_relative_to(root.resolve())


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(max_size=60))
def test_arbitrary_text_never_escapes(layout: tuple[WorkspaceGuard, Path, Path], raw: str) -> None:
    guard, root, _ = layout
    try:
        real = guard.resolve(raw)
    except WorkspaceError:
        return
    except (UnicodeEncodeError, ValueError):
        return  # lone surrogates cannot name a file on this system
    assert Path(os.path.realpath(real)).is_relative_to(root.resolve())


async def test_write_is_atomic_and_leaves_no_temp(
    layout: tuple[WorkspaceGuard, Path, Path],
) -> None:
    guard, root, _ = layout
    target = root / "src" / "ok.txt"
    before = os.stat(target).st_ino
    assert await guard.write_bytes("src/ok.txt", b"nouveau") == "src/ok.txt"
    assert target.read_bytes() == b"nouveau"
    assert os.stat(target).st_ino != before  # replaced, not rewritten in place
    assert sorted(p.name for p in (root / "src").iterdir()) == ["deep", "ok.txt", "up", "upup"]


async def test_write_replaces_planted_symlink_instead_of_following(
    layout: tuple[WorkspaceGuard, Path, Path],
) -> None:
    guard, root, outside = layout
    # The check passes (the name does not exist yet); then an attacker plants a symlink
    # at that name. os.replace works on the entry: the secret is never written through.
    real = guard.resolve("planted.txt")
    (root / "planted.txt").symlink_to(outside / "secret.txt")
    guard._replace(real, b"pwned")
    assert (outside / "secret.txt").read_text() == "secret"
    assert not (root / "planted.txt").is_symlink()


async def test_write_failure_leaves_old_content(
    layout: tuple[WorkspaceGuard, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, root, _ = layout

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)  # a full disk is hard to cause for real
    with pytest.raises(OSError):
        await guard.write_bytes("src/ok.txt", b"moitie")
    assert (root / "src" / "ok.txt").read_text() == "ok"
    assert sorted(p.name for p in (root / "src").iterdir()) == ["deep", "ok.txt", "up", "upup"]


async def test_write_into_missing_directory_is_refused(
    layout: tuple[WorkspaceGuard, Path, Path],
) -> None:
    guard, _, _ = layout
    with pytest.raises(WorkspaceError):
        await guard.write_bytes("absent/x.txt", b"x")
    with pytest.raises(WorkspaceError):
        await guard.write_bytes("src", b"x")


def test_fd_swap_is_detected(layout: tuple[WorkspaceGuard, Path, Path]) -> None:
    guard, root, outside = layout
    fd = os.open(outside / "secret.txt", os.O_RDONLY)
    try:
        with pytest.raises(WorkspaceError) as info:
            guard._verify_fd(fd, root / "src" / "ok.txt")
        assert info.value.code == "path_race"
    finally:
        os.close(fd)


async def test_walk_does_not_follow_symlinks(layout: tuple[WorkspaceGuard, Path, Path]) -> None:
    guard, _, _ = layout
    entries, truncated = await guard.walk(".", 10, 10_000, lambda n: None)
    paths = {e.path for e in entries}
    assert "link_out" in paths and not any(p.startswith("link_out/") for p in paths)
    assert not truncated
    hits, _, _ = await guard.search(".", "secret", 10, lambda n: None)
    assert hits == []


def test_missing_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError):
        WorkspaceGuard(tmp_path / "absent")
