"""The emulator's watchdog: one daemon thread that stops a Unicorn CPU whose run is past
its wall-time deadline (`uc.emu_stop` is safe from another thread, as Unicorn's own timer
uses it).  A run arms an `Alarm` when it starts and disarms it when it ends; the thread
polls while anything is armed and otherwise sleeps on a condition, so an idle process
pays nothing for it.
"""

from __future__ import annotations

import os
import threading
import time

from unicorn import Uc

WATCHDOG_POLL_S = 0.02  # how late past its deadline a run may be stopped
WATCHDOG_IDLE_S = 1.0  # the thread sleeps on a condition after this long with nothing armed


class Alarm:
    """An armed deadline: `fired` is set when the watchdog stopped the CPU for it."""

    __slots__ = ("deadline", "fired", "uc")

    def __init__(self, uc: Uc, deadline: float) -> None:
        self.uc = uc
        self.deadline = deadline
        self.fired = False


class Watchdog:
    """One daemon thread that stops CPUs whose runs are past their deadlines.  Arming and
    disarming are a lock and a set operation; the thread only wakes on a condition when
    it has been idle (nothing armed for WATCHDOG_IDLE_S)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._armed: set[Alarm] = set()
        self._sleeping = False
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, uc: Uc, deadline: float) -> Alarm:
        alarm = Alarm(uc, deadline)
        with self._lock:
            self._ensure_thread()
            self._armed.add(alarm)
            if self._sleeping:
                self._lock.notify()
        return alarm

    def disarm(self, alarm: Alarm) -> None:
        with self._lock:
            self._armed.discard(alarm)

    def _ensure_thread(self) -> None:
        if self._thread is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._watch, name="emulator-watchdog",
                                            daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(WATCHDOG_POLL_S)
            with self._lock:
                now = time.monotonic()
                for alarm in self._armed:
                    if now > alarm.deadline:
                        alarm.fired = True
                        alarm.uc.emu_stop()  # safe from another thread (as Unicorn's timer)
                if self._armed:
                    idle_since = now
                elif now - idle_since > WATCHDOG_IDLE_S:
                    self._sleeping = True
                    while not self._armed:
                        self._lock.wait()
                    self._sleeping = False
                    idle_since = time.monotonic()


WATCHDOG = Watchdog()
