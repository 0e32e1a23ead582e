"""``quartier serve --processes N``: a parent that forks N node processes and watches them.

Each child runs its own event loop, web server (all listen on the same port with
``SO_REUSEPORT``: the kernel spreads connections across them), inbox writer and workers; they
share the PostgreSQL database, where the queues are claimed with ``SKIP LOCKED``.

The parent only supervises:

- SIGTERM or SIGINT to the parent: forwarded (as SIGTERM) to every child; the parent waits
  for all of them and exits 0 when they all stopped cleanly.
- A child that ends on its own: the others are stopped too. If it stopped cleanly (a signal
  sent to it directly, or to the whole group, as a terminal's Ctrl-C or a service manager
  does), the parent exits 0; if it failed or was killed, it exits 1, so that a service
  manager restarts the node.
- The parent itself killed (``kill -9``): each child watches a pipe whose only writer is the
  parent; the kernel closes it with the parent, and the children stop rather than serve on,
  orphaned, on the port.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# What signal.signal returns and takes.
Handler = Callable[[int, FrameType | None], Any] | int | None

# The child's work: (its number, from 1, and the read end of the parent's pipe) -> exit status.
Child = Callable[[int, int], int]


def supervise(count: int, child: Child) -> int:
    """Fork ``count`` processes running ``child`` and wait for them; the exit status for the
    whole (0: every process stopped cleanly, 1: one failed). Call it with no event loop
    running and no other thread started: ``fork`` copies only the calling thread."""
    children: dict[int, int] = {}  # pid -> number; only pids not yet reaped (never reused)
    stopping = False

    def stop_all(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            log.info("stopping the node's processes (%d running)", len(children))
        stopping = True
        _signal_all(children, signal.SIGTERM)

    # Before forking: a signal between two forks must not kill the parent alone.
    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGTERM, signal.SIGINT)}
    parent_alive, parent_end = os.pipe()
    try:
        for number in range(1, count + 1):
            if stopping:
                break
            sys.stdout.flush()  # or the child would print the parent's buffered output again
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(parent_end)  # the parent's alone, or its death would go unnoticed
                _run_child(child, number, parent_alive, previous)
            children[pid] = number
        os.close(parent_alive)
        return _wait(children, lambda: stopping, lambda: stop_all(signal.SIGTERM, None))
    finally:
        os.close(parent_end)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_child(
    child: Child, number: int, parent_alive: int, handlers: Mapping[signal.Signals, Handler]
) -> None:
    """In the forked process: run ``child`` and end the process with its status, never
    returning into the parent's code."""
    status = 1
    try:
        for sig, handler in handlers.items():  # the child's own loop installs its handlers
            signal.signal(sig, handler)
        status = child(number, parent_alive)
    except KeyboardInterrupt:
        status = 130
    except BaseException:  # the process ends here: say why, on stderr
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _wait(children: dict[int, int], stopping: Callable[[], bool], stop: Callable[[], None]) -> int:
    status = 0
    while children:
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except ChildProcessError:  # none left (they were reaped elsewhere)
            break
        number = children.pop(pid, None)
        if number is None:
            continue
        code = os.waitstatus_to_exitcode(wait_status)
        if code != 0:
            status = 1
        if stopping():
            if code != 0:
                log.error("process %d (pid %d) did not stop cleanly (%s)", number, pid, _how(code))
            continue
        if code == 0:
            log.info("process %d (pid %d) was stopped: stopping the others", number, pid)
        else:
            log.error(
                "process %d (pid %d) ended unexpectedly (%s): stopping the others",
                number,
                pid,
                _how(code),
            )
        stop()
    return status


def _signal_all(children: dict[int, int], sig: signal.Signals) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):  # already gone, not yet reaped
            os.kill(pid, sig)


def _how(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
