"""What a process may ask about itself: its ids (fixed, and the same as the auxiliary
vector's AT_UID/AT_GID, so runs are reproducible), its user's passwd entry, and sleeping
(which returns at once: nothing outside the run waits on it)."""

from __future__ import annotations

from oracle.emulate.calls import CallContext, Export

PID, PARENT_PID, UID, GID = 4242, 4241, 1000, 1000
HOSTNAME = b"localhost"  # uname's nodename and gethostname's answer


def _zero(ctx: CallContext) -> int:
    return 0


# The guest's user database has one entry, the run's own user, whose home is "/" (the
# working directory): a program looking for its configuration in ~ finds nothing there
USER_ENTRY = {"name": b"user", "passwd": b"x", "gecos": b"", "dir": b"/", "shell": b"/bin/sh"}


def _passwd(ctx: CallContext) -> int:
    """The user's struct passwd (name, passwd, uid, gid, gecos, dir, shell), made once."""
    word = ctx.word
    texts = {key: ctx.process.object((f"passwd {key}",), value + b"\0").address
             for key, value in USER_ENTRY.items()}

    def pointer(key: str) -> bytes:
        return texts[key].to_bytes(word, "little")

    body = (pointer("name") + pointer("passwd") + UID.to_bytes(4, "little")
            + GID.to_bytes(4, "little") + pointer("gecos") + pointer("dir") + pointer("shell"))
    return ctx.process.object(("passwd",), body).address


# sysconf's answers for a run: x86's page, the kernel's USER_HZ, one processor (a run's
# threads take turns), glibc's soft descriptor limit; other names fail with EINVAL
_SC_CLK_TCK, _SC_OPEN_MAX, _SC_PAGESIZE, _SC_NPROCESSORS_CONF, _SC_NPROCESSORS_ONLN = 2, 4, 30, 83, 84
SYSCONF = {_SC_CLK_TCK: 100, _SC_OPEN_MAX: 1024, _SC_PAGESIZE: 4096, _SC_NPROCESSORS_CONF: 1,
           _SC_NPROCESSORS_ONLN: 1}
EINVAL = 22


UTSNAME_FIELD = 65  # glibc's struct utsname: six char[65]


def uname(ctx: CallContext) -> int:
    """A fixed machine: Linux 6.1.0 on localhost; x86_64 or i686 as the guest's ABI."""
    machine = b"x86_64" if ctx.word == 8 else b"i686"
    fields = (b"Linux", HOSTNAME, b"6.1.0", b"#1 SMP PREEMPT_DYNAMIC", machine, b"(none)")
    ctx.mem.write(ctx.arg(0), b"".join(f.ljust(UTSNAME_FIELD, b"\0") for f in fields))
    return 0


def sysconf(ctx: CallContext) -> int:
    value = SYSCONF.get(ctx.arg(0) & 0xFFFFFFFF)
    if value is None:
        ctx.mem.write(ctx.process.object(("errno",), bytes(4)).address,
                      EINVAL.to_bytes(4, "little"))
        return -1
    return value


def getpwuid(ctx: CallContext) -> int:
    return _passwd(ctx) if ctx.arg(0) & 0xFFFFFFFF == UID else 0


def getpwnam(ctx: CallContext) -> int:
    return _passwd(ctx) if ctx.mem.read_cstr(ctx.arg(0)) == USER_ENTRY["name"] else 0


EXPORTS = (
    Export("getpid", 0, lambda ctx: PID),
    Export("getppid", 0, lambda ctx: PARENT_PID),
    Export("getuid", 0, lambda ctx: UID),
    Export("geteuid", 0, lambda ctx: UID),
    Export("getgid", 0, lambda ctx: GID),
    Export("getegid", 0, lambda ctx: GID),
    Export("sysconf", 1, sysconf),
    Export("__sysconf", 1, sysconf),
    Export("getpagesize", 0, lambda ctx: SYSCONF[_SC_PAGESIZE]),
    Export("getpwuid", 1, getpwuid),
    Export("getpwnam", 1, getpwnam),
    Export("sleep", 1, _zero),
    Export("usleep", 1, _zero),
    Export("nanosleep", 2, _zero),  # no time passes: the run's clock is the host's
    Export("clock_nanosleep", 4, _zero),
    Export("uname", 1, uname),
)
