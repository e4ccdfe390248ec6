"""Seeded bugs in the link server and its client, and whether test_link_server.py sees them.

    .venv/bin/python tests/linker/link_server_mutants.py      # ~5 min; every line CAUGHT

Each mutant edits one line of linker/link_server*.py or linker/link_client.c in place, runs
the server's tests (stopping at the first failure), and puts the line back (also when
interrupted).  Not a pytest module: it edits the checkout and takes minutes.  The edit
changes the code's identity, so every run meets a fresh server of the mutated code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = "tests/linker/test_link_server.py"

# (what the bug is, file, the line(s) as they are, as the bug has them)
MUTANTS = [
    ("standard streams not passed", "linker/link_client.c",
     "if (fcntl(fd, F_GETFD) >= 0) {", "if (0) {"),
    ("umask not installed", "linker/link_server_child.py",
     "    os.umask(umask)\n", "    pass\n"),
    ("working directory not installed", "linker/link_server_child.py",
     "    os.fchdir(fds[-1])\n", "    pass\n"),
    ("code changes not noticed", "linker/link_server.py",
     "        return not ours or tree_hash() != self.tree", "        return not ours"),
    ("client's death ignored", "linker/link_server.py",
     ("                if link.kill_at is None:\n"
      "                    self._kill(link, signal.SIGINT)\n"
      "                    link.kill_at = time.monotonic() + KILL_GRACE_S\n"),
     "                pass\n"),
    ("server keeps the build's stdout", "linker/link_client.c",
     "        for (int fd = 0; fd < 3; fd++) dup2(null, fd);", "        (void)null;"),
    ("exit status dropped", "linker/link_client.c",
     "            if (status >= 0) return status;", "            if (status >= 0) return 0;"),
    ("a link outlives its killed server", "linker/link_server_child.py",
     "        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)", "        pass"),
    ("an idle server stays", "linker/link_server.py",
     "(self.stopping or now - last_activity >= self.idle_s)", "self.stopping"),
    ("identity blind to subdirectories", "linker/link_client.c",
     "            status = hash_tree(path, name, depth + 1, sum);", "            status = 0;"),
]


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    missed = 0
    for name, relative, line, bug in MUTANTS:
        path = ROOT / relative
        text = path.read_text()
        if text.count(line) != 1:
            print(f"{name}: the line is gone from {relative}: update this mutant")
            return 2
        path.write_text(text.replace(line, bug))
        try:
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-x",
                                   TESTS], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=900, check=False)
            verdict = "CAUGHT" if done.returncode else "MISSED"
            summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        except subprocess.TimeoutExpired:
            verdict, summary = "CAUGHT", "timed out"
        finally:
            path.write_text(text)
            subprocess.run([sys.executable, "-m", "linker.link_server", "stop"], cwd=ROOT,
                           env=env, check=False)
        missed += verdict == "MISSED"
        print(f"{name}: {verdict} ({summary})", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
