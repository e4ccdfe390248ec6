"""The warm link server around bench/link_speed.py's links (linker/link_server.py).

linkharness's shim is a client of a server that has imported the linker; what a link
costs depends on whether one is running. The "linkharness" row is the warm case (before
each timed link, untimed: a server for the current code answers, started and waited for
if need be); "linkharness-cold" is the first link of a build (before each, untimed: the
server is stopped, so the link runs directly and starts a new one, which the next warm
link then waits for).
"""

from __future__ import annotations

import subprocess
import time

from linker.link_server_command import query_status, stop

START_TIMEOUT_S = 120.0


def socket_of(shim: str) -> str:
    """The socket the shim uses for the code as it is now."""
    done = subprocess.run([shim, "--linkharness-server-socket"], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def ensure_server(shim: str) -> None:
    """A server answers for SHIM's code: started (by a link that only prints the version)
    and waited for when none did."""
    path = socket_of(shim)
    if query_status(path) is not None:
        return
    subprocess.run([shim, "--version"], capture_output=True, check=False)
    give_up = time.monotonic() + START_TIMEOUT_S
    while query_status(path) is None:
        if time.monotonic() > give_up:
            raise RuntimeError(f"no link server came up at {path}")
        time.sleep(0.02)


def stop_server(shim: str) -> None:
    """No server for SHIM's code: the next link is the first, cold one."""
    path = socket_of(shim)
    if not stop(path):
        raise RuntimeError(f"the link server at {path} did not stop")
