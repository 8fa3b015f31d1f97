"""The threads kernels.io splits one image's work over: one per core this process may run on
(os.sched_getaffinity, so a container's or taskset's limit counts), at most MAX_THREADS, or
$ORLUME_IO_THREADS. Splitting buys latency, not throughput: a worker host already running one
job per core gains nothing from it and pays for the full decode's extra entropy scan of
files without restart markers, so such hosts may set ORLUME_IO_THREADS=1.

Each task is a strip of one image whose heavy part (libjpeg-turbo through OpenCV, our compiled
loops through ctypes) releases the GIL. Tasks never submit tasks, so one shared pool cannot
deadlock however many callers share it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import TypeVar

MAX_THREADS = 8  # past this a 24 MP image's strips get too small to pay for their set-up

T = TypeVar("T")
R = TypeVar("R")


_limit: int | None = None


@cache
def _cores() -> int:
    setting = os.environ.get("ORLUME_IO_THREADS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return min(MAX_THREADS, int(setting))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


def thread_count() -> int:
    return _limit or _cores()


@contextmanager
def limited(threads: int) -> Iterator[None]:
    """Split images over at most `threads` threads meanwhile (bench/io.py's one-thread rows;
    not for concurrent use)."""
    global _limit
    before, _limit = _limit, max(1, min(threads, _cores()))
    try:
        yield
    finally:
        _limit = before


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_cores(), thread_name_prefix="kernels-io-strip")


def map_strips(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """work(item) for each item, concurrently when there is more than one core, in order."""
    todo = list(items)
    if thread_count() == 1 or len(todo) < 2:
        return [work(item) for item in todo]
    return list(_pool().map(work, todo))
