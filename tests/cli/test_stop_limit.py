"""A hub asked to stop whose parts never finish closing: it says where, then ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    from hub.api.app import abandon_stop

    logging.basicConfig(stream=sys.stderr, level=logging.INFO)

    async def pool_close_that_never_returns() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        asyncio.create_task(pool_close_that_never_returns(), name="fermeture")
        asyncio.get_running_loop().call_later(0.2, abandon_stop, 0.2)
        await asyncio.sleep(30)

    asyncio.run(main())
    """
)


def test_a_stop_that_hangs_names_the_waiting_task_and_ends() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 70
    assert "Arrêt bloqué depuis 0.2 s, tâche fermeture" in done.stderr
    assert "pool_close_that_never_returns" in done.stderr  # where it waits
    assert "journal" in done.stderr  # and that nothing answered is lost
