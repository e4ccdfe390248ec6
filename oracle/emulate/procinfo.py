"""What a process may ask about itself: its ids (fixed, and the same as the auxiliary
vector's AT_UID/AT_GID, so runs are reproducible) and sleeping (which returns at once:
nothing outside the run waits on it)."""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export

PID, PARENT_PID, UID, GID = 4242, 4241, 1000, 1000


def _zero(ctx: CallContext) -> int:
    return 0


EXPORTS = (
    Export("getpid", 0, lambda ctx: PID),
    Export("getppid", 0, lambda ctx: PARENT_PID),
    Export("getuid", 0, lambda ctx: UID),
    Export("geteuid", 0, lambda ctx: UID),
    Export("getgid", 0, lambda ctx: GID),
    Export("getegid", 0, lambda ctx: GID),
    Export("sleep", 1, _zero),
    Export("usleep", 1, _zero),
)
