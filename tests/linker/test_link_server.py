"""The warm link server behind the shims (linker/link_server*.py, linker/link_client.c).

Each test links through the compiled `ld`/`ld64` client with a private XDG_RUNTIME_DIR,
so its servers are its own; they are stopped at the end.  A link counts as served when
the server's request count moved by it (`linkharness server status`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linker import link_server_command, link_server_identity, shim
from linker.cli import ld64_shim, shim_dir

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 3; }\n'
UNDEFINED = "extern int missing(void);\nint main(void) { return missing(); }\n"
MACHO = "int seven(void) { return 7; }\nint main(void) { return seven(); }\n"
SERVER_START_S = 60.0  # importing numpy on a loaded machine


@pytest.fixture(autouse=True)
def _compiled_client() -> None:
    if not Path(shim_dir(), "ld").read_bytes().startswith(b"\x7fELF"):
        pytest.fail("the shim is not the compiled client (is there a C compiler?)")


@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private runtime directory (socket paths are limited to 107 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="lhs", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    monkeypatch.setenv("LINKHARNESS_SERVER_IDLE", "60")
    monkeypatch.delenv("LINKHARNESS_SERVER", raising=False)
    try:
        yield directory
    finally:
        for path in link_server_command.sockets_in(str(directory / "linkharness")):
            link_server_command.stop(path)
        shutil.rmtree(directory, ignore_errors=True)


def _ld() -> str:
    return os.path.join(shim_dir(), "ld")


def _socket_of(client: str) -> str:
    done = subprocess.run([client, "--linkharness-server-socket"], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def _requests(path: str) -> int | None:
    line = link_server_command.query_status(path)
    match = re.search(r"(\d+) requests before this one", line or "")
    return int(match.group(1)) if match else None


def _server_pid(path: str) -> int:
    line = link_server_command.query_status(path)
    match = re.match(r"pid (\d+)", line or "")
    assert match, line
    return int(match.group(1))


def _wait_for_server(client: str) -> str:
    """Start the server for CLIENT's code if none runs (a link that cannot parse starts
    it and fails fast, directly), and wait until it answers."""
    path = _socket_of(client)
    if link_server_command.query_status(path) is None:
        subprocess.run([client, "--version"], capture_output=True, check=False)
    give_up = time.monotonic() + SERVER_START_S
    while link_server_command.query_status(path) is None:
        assert time.monotonic() < give_up, "no server came up"
        time.sleep(0.05)
    return path


def _link(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=120, check=False,
                          env={**os.environ, **env})


def _served_and_direct(command: list[str], output: Path, cwd: Path, client: str
                       ) -> tuple[subprocess.CompletedProcess[bytes], bytes | None,
                                  subprocess.CompletedProcess[bytes], bytes | None]:
    """Link through the server (checked to have served it), then directly."""
    path = _wait_for_server(client)
    before = _requests(path)
    served = _link(command, cwd)
    assert _requests(path) == (before or 0) + 2, "the server did not take the link"
    served_bytes = output.read_bytes() if output.exists() else None
    output.unlink(missing_ok=True)
    direct = _link(command, cwd, LINKHARNESS_SERVER="0")
    direct_bytes = output.read_bytes() if output.exists() else None
    return served, served_bytes, direct, direct_bytes


def test_client_and_server_name_the_same_socket(run_dir: Path) -> None:
    path = link_server_identity.socket_path()
    assert path is not None and path.startswith(str(run_dir / "linkharness") + "/")
    assert _socket_of(_ld()) == _socket_of(ld64_shim()) == path


def test_elf_output_is_byte_identical_to_the_direct_process(run_dir: Path,
                                                            tmp_path: Path) -> None:
    (tmp_path / "hello.c").write_text(HELLO)
    out = tmp_path / "hello"
    command = ["gcc", f"-B{shim_dir()}", "hello.c", "-o", str(out)]
    served, served_bytes, direct, direct_bytes = _served_and_direct(command, out, tmp_path,
                                                                    _ld())
    assert served.returncode == direct.returncode == 0, served.stderr
    assert served.stdout == direct.stdout == b"" and served.stderr == direct.stderr == b""
    assert served_bytes is not None and served_bytes == direct_bytes
    assert subprocess.run([str(out)], check=False, capture_output=True).stdout == b"hello\n"
    assert os.stat(out).st_mode & 0o777 == 0o755  # the client's umask (022 here)


def test_the_link_has_the_clients_umask_and_directory(run_dir: Path, tmp_path: Path) -> None:
    """umask 077 in the client: the output is 0700 (the server runs under another)."""
    (tmp_path / "zero.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-c", "zero.c"], cwd=tmp_path, check=True)
    out = tmp_path / "private"
    command = ["sh", "-c", f"umask 077 && exec {_ld()} zero.o -o private -e main"]
    served, served_bytes, direct, direct_bytes = _served_and_direct(command, out, tmp_path,
                                                                    _ld())
    assert served.returncode == direct.returncode == 0, served.stderr
    assert served_bytes == direct_bytes
    assert _link(command, tmp_path).returncode == 0
    assert os.stat(out).st_mode & 0o777 == 0o700


def test_macho_output_is_byte_identical_to_the_direct_process(run_dir: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "seven.c").write_text(MACHO)
    out = tmp_path / "seven"
    command = ["clang-14", "--target=x86_64-apple-macosx10.9", "-fuse-ld=lld",
               f"--ld-path={ld64_shim()}", "seven.c", "-o", str(out)]
    served, served_bytes, direct, direct_bytes = _served_and_direct(command, out, tmp_path,
                                                                    ld64_shim())
    assert served.returncode == direct.returncode == 0, served.stderr
    assert served.stderr == direct.stderr
    assert served_bytes is not None and served_bytes[:4] == b"\xcf\xfa\xed\xfe"
    assert served_bytes == direct_bytes


def test_errors_are_those_of_the_direct_process(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.c").write_text(UNDEFINED)
    subprocess.run(["gcc", "-c", "bad.c"], cwd=tmp_path, check=True)
    out = tmp_path / "bad"
    command = [_ld(), "bad.o", "-o", str(out), "-e", "main"]
    served, served_bytes, direct, direct_bytes = _served_and_direct(command, out, tmp_path,
                                                                    _ld())
    assert served.returncode == direct.returncode == 1
    assert served.stderr == direct.stderr
    assert served.stderr.count(b"\n") == 1 and b"missing" in served.stderr
    assert served_bytes is None and direct_bytes is None  # no partial output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.c", "bad.o"]


def test_concurrent_links(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "hello.c"], cwd=tmp_path, check=True)
    path = _wait_for_server(_ld())
    before = _requests(path) or 0
    links = [subprocess.Popen(["gcc", f"-B{shim_dir()}", "hello.o", "-o", f"hello{n}"],
                              cwd=tmp_path, stderr=subprocess.PIPE) for n in range(6)]
    assert [link.wait(timeout=120) for link in links] == [0] * 6
    outputs = {(tmp_path / f"hello{n}").read_bytes() for n in range(6)}
    assert len(outputs) == 1
    assert _requests(path) == before + 1 + 6


def test_a_stale_identity_gets_a_new_server(run_dir: Path, tmp_path: Path) -> None:
    """A checkout whose code changes: the next link meets a new server, and the server of
    the old code leaves within seconds.  (A copy of the package, so that the test edits
    nothing the other tests run.)"""
    root = tmp_path / "checkout"
    shutil.copytree(Path(link_server_identity.package_root()) / "linker", root / "linker",
                    ignore=shutil.ignore_patterns("__pycache__"))
    client = str(tmp_path / "ld")
    assert shim.compile_client(client, str(root), str(tmp_path / "pycache"))
    (tmp_path / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "hello.c"], cwd=tmp_path, check=True)
    old_path = _wait_for_server(client)
    old_pid = _server_pid(old_path)
    stamp = root / "linker" / "api.py"
    os.utime(stamp, ns=(stamp.stat().st_atime_ns, stamp.stat().st_mtime_ns + 10**9))
    new_path = _socket_of(client)
    assert new_path != old_path
    assert link_server_command.query_status(new_path) is None
    command = ["gcc", f"-B{tmp_path}", "hello.o", "-o", "hello"]
    assert _link(command, tmp_path).returncode == 0  # directly, starting a new server
    _wait_for_server(client)
    assert _server_pid(new_path) != old_pid
    give_up = time.monotonic() + 30
    while _alive(old_pid):
        assert time.monotonic() < give_up, "the stale server did not leave"
        time.sleep(0.1)
    assert not os.path.exists(old_path)
    before = _requests(new_path) or 0
    assert _link(command, tmp_path).returncode == 0
    assert _requests(new_path) == before + 2


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_until(condition: Callable[[], bool], failure: str, seconds: float = 30) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, failure
        time.sleep(0.02)


def _has_open(pid: int, path: Path) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            pass
    return False


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(word) for word in f.read().split()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_the_clients_death_kills_the_link(run_dir: Path, tmp_path: Path, signum: int) -> None:
    """A link blocked reading a FIFO whose writer never writes: killing its client (Ctrl-C,
    a build's timeout) kills the link, which leaves no output."""
    (tmp_path / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "hello.c"], cwd=tmp_path, check=True)
    fifo = tmp_path / "slow.o"
    os.mkfifo(fifo)
    path = _wait_for_server(_ld())
    server = _server_pid(path)
    _wait_until(lambda: not _children(server), "the status request's child did not end")
    writer = os.open(fifo, os.O_RDWR)  # keeps the FIFO open and silent
    try:
        # the signal's default action, as a terminal starts the client (pytest run as a
        # shell's background job holds SIGINT ignored, and a child inherits that)
        ignored = signum != signal.SIGKILL and signal.getsignal(signum) == signal.SIG_IGN
        if ignored:
            signal.signal(signum, signal.SIG_DFL)
        try:
            client = subprocess.Popen([_ld(), "hello.o", "slow.o", "-o", "out"],
                                      cwd=tmp_path, stderr=subprocess.DEVNULL)
        finally:
            if ignored:
                signal.signal(signum, signal.SIG_IGN)
        _wait_until(lambda: bool(_children(server)), "the link never started")
        time.sleep(0.2)  # into the read of slow.o
        assert client.poll() is None
        client.send_signal(signum)
        client.wait(timeout=30)
        _wait_until(lambda: not _children(server), "the link outlived its client")
    finally:
        os.close(writer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.c", "hello.o", "slow.o"]


def test_disabled_links_directly_and_starts_nothing(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "hello.c").write_text(HELLO)
    done = _link(["gcc", f"-B{shim_dir()}", "hello.c", "-o", "hello"], tmp_path,
                 LINKHARNESS_SERVER="0")
    assert done.returncode == 0, done.stderr
    time.sleep(0.5)
    assert not (run_dir / "linkharness").exists()


def test_a_piped_build_returns_at_once(run_dir: Path, tmp_path: Path) -> None:
    """The server a link starts holds none of the build's descriptors: `gcc ... | cat`
    ends when the link ends, not when the server does (60 s idle here)."""
    (tmp_path / "hello.c").write_text(HELLO)
    path = link_server_identity.socket_path()
    assert path is not None and link_server_command.query_status(path) is None
    build = subprocess.Popen(["gcc", f"-B{shim_dir()}", "hello.c", "-o", "hello"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert build.stdout is not None
    pipe = f"pipe:[{os.fstat(build.stdout.fileno()).st_ino}]"
    output, _ = build.communicate(timeout=50)  # until every holder of the pipe closed it
    assert build.returncode == 0 and output == b""
    _wait_for_server(_ld())  # it was the first link: it did start a server
    server = _server_pid(path)
    with open(f"/proc/{server}/cmdline", "rb") as f:
        assert b"link_server" in f.read()
    held = []
    for fd in os.listdir(f"/proc/{server}/fd"):
        try:
            held.append(os.readlink(f"/proc/{server}/fd/{fd}"))
        except OSError:  # a request's, ended meanwhile
            pass
    assert held[:3] == ["/dev/null"] * 3 and pipe not in held, held


def test_falls_back_when_the_directory_is_not_private(run_dir: Path, tmp_path: Path) -> None:
    """A socket directory that is not private: no server, and the link still works."""
    (run_dir / "linkharness").mkdir(mode=0o700)
    os.chmod(run_dir / "linkharness", 0o777)
    (tmp_path / "hello.c").write_text(HELLO)
    done = _link(["gcc", f"-B{shim_dir()}", "hello.c", "-o", "hello"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([str(tmp_path / "hello")], check=False).returncode == 3
    time.sleep(0.5)
    assert os.listdir(run_dir / "linkharness") == []


def test_falls_back_when_the_server_cannot_start(run_dir: Path, tmp_path: Path) -> None:
    """A directory where the socket should be: every link tries to start a server, which
    gives up at once, and links directly."""
    path = link_server_identity.socket_path()
    assert path is not None
    os.mkdir(os.path.dirname(path), mode=0o700)  # private: the client does try
    os.mkdir(path)
    (tmp_path / "hello.c").write_text(HELLO)
    for n in range(2):
        done = _link(["gcc", f"-B{shim_dir()}", "hello.c", "-o", f"hello{n}"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert subprocess.run([str(tmp_path / f"hello{n}")], check=False).returncode == 3
    time.sleep(1)  # for the servers those links tried to start to give up
    _wait_until(lambda: not os.path.exists(path + ".lock"), "a server is still trying")
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]  # nothing else
    assert os.path.isdir(path) and link_server_command.query_status(path) is None


def test_falls_back_when_the_server_drops_the_link(run_dir: Path, tmp_path: Path) -> None:
    """Something answers at the socket but never takes the link (here: accepts and hangs
    up; with LINKHARNESS_SERVER_WAIT_MS, one that never replies): the link runs directly."""
    path = link_server_identity.socket_path()
    assert path is not None
    os.makedirs(os.path.dirname(path), mode=0o700)
    (tmp_path / "hello.c").write_text(HELLO)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as impostor:
        impostor.bind(path)
        impostor.listen(8)
        silent = _link(["gcc", f"-B{shim_dir()}", "hello.c", "-o", "silent"], tmp_path,
                       LINKHARNESS_SERVER_WAIT_MS="200")
        assert silent.returncode == 0, silent.stderr
        conn, _ = impostor.accept()
        conn.close()
        impostor.setblocking(False)
        link = subprocess.Popen(["gcc", f"-B{shim_dir()}", "hello.c", "-o", "dropped"],
                                cwd=tmp_path)
        give_up = time.monotonic() + 60
        while link.poll() is None:
            assert time.monotonic() < give_up
            try:
                conn, _ = impostor.accept()
                conn.close()
            except BlockingIOError:
                time.sleep(0.01)
        assert link.returncode == 0
    assert (tmp_path / "silent").read_bytes() == (tmp_path / "dropped").read_bytes()


def test_status_and_stop_commands(run_dir: Path) -> None:
    path = _wait_for_server(_ld())
    pid = _server_pid(path)

    def command(word: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "oracle.cli", "server", word],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONPATH": link_server_identity.package_root()})

    status = command("status")
    assert status.returncode == 0
    assert f"{path} (current code): pid {pid}," in status.stdout
    assert command("stop").returncode == 0
    assert not _alive(pid) and not os.path.exists(path)
    assert command("status").stdout == "no link server running\n"


def test_a_server_killed_mid_link_costs_no_link(run_dir: Path, tmp_path: Path) -> None:
    """The server dies (SIGKILL) while a link runs in its child: the child goes with it
    (PR_SET_PDEATHSIG), and the shim, left without a status, links again directly."""
    (tmp_path / "zero.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "other.c").write_text("int other = 1;\n")
    subprocess.run(["gcc", "-c", "zero.c", "other.c"], cwd=tmp_path, check=True)
    fifo = tmp_path / "slow.o"
    os.mkfifo(fifo)
    path = _wait_for_server(_ld())
    server = _server_pid(path)
    _wait_until(lambda: not _children(server), "the status request's child did not end")
    writer = os.open(fifo, os.O_RDWR)  # open and silent: the link waits on it
    try:
        client = subprocess.Popen([_ld(), "zero.o", "slow.o", "-o", "out", "-e", "main"],
                                  cwd=tmp_path, stderr=subprocess.PIPE)
        _wait_until(lambda: bool(_children(server)), "the link never started")
        link = _children(server)[0]
        os.kill(server, signal.SIGKILL)
        _wait_until(lambda: not _alive(link), "the link outlived its server")
        os.write(writer, (tmp_path / "other.o").read_bytes())  # for the direct link,
        _wait_until(lambda: _has_open(client.pid, fifo), "no direct link")  # once it reads
    finally:
        os.close(writer)
    _, stderr = client.communicate(timeout=120)
    assert client.returncode == 0, stderr
    assert stderr == b""
    assert (tmp_path / "out").read_bytes()[:4] == b"\x7fELF"


def test_an_idle_server_leaves(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LINKHARNESS_SERVER_IDLE seconds after its last request the server is gone, and
    its socket and lock file with it."""
    monkeypatch.setenv("LINKHARNESS_SERVER_IDLE", "3")
    path = _wait_for_server(_ld())
    pid = _server_pid(path)
    _wait_until(lambda: not _alive(pid), "the idle server stayed", seconds=60)
    assert os.listdir(os.path.dirname(path)) == []
