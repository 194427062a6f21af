"""``steady_gc``: what start-up created is frozen, young collections are rarer."""

from __future__ import annotations

import gc

from hub.cli.main import GC_YOUNG_THRESHOLD, steady_gc


def test_steady_gc_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    try:
        steady_gc()
        assert gc.get_freeze_count() > 1000  # every module, class and function so far
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        cycle: list[object] = []
        cycle.append(cycle)  # cycles made afterwards are still collected
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
