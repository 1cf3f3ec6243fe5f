"""Timing that a busy machine does not disturb: the CPU time of the calling thread, garbage
collection off while timing, the best of several runs, and a failing comparison measured again
before it fails. Wall-clock time counts every moment another process held the CPU; this thread's
CPU time counts only the work done (a stall of the machine is not this code being slow)."""
from __future__ import annotations

import gc
import time
from contextlib import contextmanager

#: Two sizes of one input, SCALE apart: linear work takes SCALE times as long, quadratic SCALE ** 2.
SCALE = 8
#: Between linear (8) and quadratic (64), with room for the noise of a loaded machine (a cache
#: shared with other processes still slows this thread's CPU time, by well under 3 times).
MAX_RATIO = 3 * SCALE
#: A comparison that fails is measured again, up to this many times in all, before it fails.
ATTEMPTS = 3
#: Below this, the measurement is noise: a baseline is never taken as smaller.
FLOOR = 1e-4


@contextmanager
def gc_paused():
    """No garbage collection inside: a collection's pause lands on whichever run triggers it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cpu_time(function, *args) -> float:
    """Seconds of this thread's CPU time that ``function(*args)`` took."""
    started = time.thread_time()
    function(*args)
    return time.thread_time() - started


def best_times(function, arguments: list, repeat: int = 5) -> list[float]:
    """The least CPU time of ``function`` on each of ``arguments`` over ``repeat`` rounds.

    The arguments are timed in turn within each round, so that each sees the same machine.
    """
    gc.collect()
    best = [float("inf")] * len(arguments)
    with gc_paused():
        for _ in range(repeat):
            for index, argument in enumerate(arguments):
                best[index] = min(best[index], cpu_time(function, argument))
    return best


def best_time(function, argument, repeat: int = 5) -> float:
    """The least CPU time of ``repeat`` runs of ``function(argument)``, in seconds."""
    return best_times(function, [argument], repeat)[0]


def assert_ratio_within(function, measured_argument, baseline_argument, ratio: float,
                        repeat: int = 3) -> tuple[float, float]:
    """``function(measured_argument)`` costs at most ``ratio`` times ``function(baseline_argument)``.

    A failing comparison is measured again (ATTEMPTS in all) before it fails: a real super-linear
    cost fails every time, a disturbed measurement does not.
    """
    seen = []
    for _ in range(ATTEMPTS):
        measured, baseline = best_times(function, [measured_argument, baseline_argument], repeat)
        baseline = max(baseline, FLOOR)
        if measured <= ratio * baseline:
            return measured, baseline
        seen.append((round(measured, 6), round(baseline, 6), round(measured / baseline, 1)))
    raise AssertionError(f"{getattr(function, '__name__', function)}: (measured, baseline, ratio) > {ratio}: {seen}")


def assert_linear(function, make, n: int, scale: int = SCALE, max_ratio: float = MAX_RATIO) -> tuple[float, float]:
    """``function`` on ``make(n * scale)`` costs at most ``max_ratio`` times ``make(n)``."""
    return assert_ratio_within(function, make(n * scale), make(n), max_ratio)


def assert_bounded_by(function, pathological, benign, ratio: float) -> tuple[float, float]:
    """``function`` on the pathological input costs at most ``ratio`` times the benign one (same size)."""
    return assert_ratio_within(function, pathological, benign, ratio)
