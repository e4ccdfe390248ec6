/* linkharness's `ld` and `ld64` shims: a thin client of the warm link server.

   linker/shim.py compiles this file once per interpreter and checkout, with these macros
   defined before it (C string literals):
     LH_PYTHON      the interpreter that runs the linker
     LH_ROOT        the checkout (package root) holding linker/
     LH_PYTHONPATH  what the direct process puts first on PYTHONPATH
     LH_PYCACHE     where the direct process keeps its bytecode
     LH_KEY         a digest of interpreter and root: the first part of the socket's name

   A link: send the command line, environment and umask to the server's socket; once a
   child of the server has taken them, pass it the standard streams and working directory
   (SCM_RIGHTS); wait for the exit status the server reports, and exit the same way.  The socket's name ends in a digest of the linker's
   source files (paths, sizes, modification times: linker/link_server_identity.py computes
   the same), so edited code never meets a server that imported the old code.

   Anything that keeps the server from answering (none running, a stale socket, a
   refused request) falls back to what the shell shim did: exec the interpreter on
   `-m linker` directly.  When none answered, a server is started for the next link,
   detached (a new session, every descriptor closed or /dev/null), so that a build's pipe
   is never held open by it.  LINKHARNESS_SERVER=0 skips the server altogether. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define REQUEST_MAGIC "LHLINK2"   /* 8 bytes with its NUL; a new one with each change */
#define ACK_MAGIC "LHOK"
#define KIND_LD 1
#define KIND_LD64 2
#define MAX_DEPTH 8
#define DEFAULT_WAIT_MS 10000 /* for the server to take the request: it forks at once */

/* -- the code's identity: CRC-32 and Adler-32 of each file's record, summed ----------- */

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint64_t record_hash(const unsigned char *data, size_t len) {
    uint32_t crc = 0xFFFFFFFFu, a = 1, b = 0;
    for (size_t i = 0; i < len; i++) {
        crc = crc_table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        a = (a + data[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return ((uint64_t)(crc ^ 0xFFFFFFFFu) << 32) | ((b << 16) | a);
}

/* Every regular file under `dir` (relative name `rel`), skipping __pycache__ and names
   starting with a dot: adds hash(rel NUL size NUL mtime_ns) to *sum.  0 on success. */
static int hash_tree(const char *dir, const char *rel, int depth, uint64_t *sum) {
    if (depth > MAX_DEPTH) return -1;
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int status = 0;
    while (status == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "__pycache__") == 0) continue;
        char path[PATH_MAX], name[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            snprintf(name, sizeof name, "%s/%s", rel, e->d_name) >= (int)sizeof name) {
            status = -1;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0) continue; /* vanished meanwhile, or a dangling link */
        if (S_ISDIR(st.st_mode)) {
            status = hash_tree(path, name, depth + 1, sum);
        } else if (S_ISREG(st.st_mode)) {
            char record[PATH_MAX + 64];
            size_t n = strlen(name);
            memcpy(record, name, n + 1);
            int tail = snprintf(record + n + 1, sizeof record - n - 1, "%lld%c%lld",
                                (long long)st.st_size, 0,
                                (long long)st.st_mtim.tv_sec * 1000000000LL +
                                    st.st_mtim.tv_nsec);
            *sum += record_hash((const unsigned char *)record, n + 1 + (size_t)tail);
        }
    }
    closedir(d);
    return status;
}

/* The directory the server's socket lives in, as link_server_identity.socket_directory. */
static int socket_directory(char *out, size_t size) {
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && *runtime)
        return snprintf(out, size, "%s/linkharness", runtime) < (int)size ? 0 : -1;
    const char *cache = getenv("XDG_CACHE_HOME");
    if (cache && *cache)
        return snprintf(out, size, "%s/linkharness/run", cache) < (int)size ? 0 : -1;
    const char *home = getenv("HOME");
    if (!home || !*home) return -1;
    return snprintf(out, size, "%s/.cache/linkharness/run", home) < (int)size ? 0 : -1;
}

/* The socket's path for this code, or -1.  A path too long for sun_path moves to
   /tmp/linkharness-run-UID. */
static int socket_path(char *out, size_t size) {
    uint64_t sum = 0;
    char linker_dir[PATH_MAX];
    if (snprintf(linker_dir, sizeof linker_dir, "%s/linker", LH_ROOT) >= (int)sizeof linker_dir)
        return -1;
    crc_init();
    if (hash_tree(linker_dir, "linker", 0, &sum) != 0) return -1;
    char dir[PATH_MAX];
    if (socket_directory(dir, sizeof dir) != 0) return -1;
    struct sockaddr_un probe;
    int n = snprintf(out, size, "%s/%s-%016llx.sock", dir, LH_KEY, (unsigned long long)sum);
    if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof probe.sun_path) {
        n = snprintf(out, size, "/tmp/linkharness-run-%u/%s-%016llx.sock",
                     (unsigned)getuid(), LH_KEY, (unsigned long long)sum);
        if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof probe.sun_path) return -1;
    }
    return 0;
}

/* The socket's directory must be ours and private, so that no one else can plant a
   server in it: 1 when it is, 0 when it does not exist (a server makes it), -1 else. */
static int private_directory_of(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return -1;
    *slash = '\0';
    struct stat st;
    if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : -1;
    return S_ISDIR(st.st_mode) && st.st_uid == getuid() && (st.st_mode & 077) == 0 ? 1 : -1;
}

/* -- the direct process: what the shell shim ran ---------------------------------------- */

static const char *module_for(int kind) { return kind == KIND_LD64 ? "linker.macho" : "linker"; }

/* The direct process's environment: bytecode kept in LH_PYCACHE even where
   PYTHONDONTWRITEBYTECODE is set, this package first on PYTHONPATH. */
static char **linker_environment(void) {
    size_t count = 0;
    while (environ[count]) count++;
    char **env = calloc(count + 3, sizeof *env);
    if (!env) return NULL;
    size_t out = 0;
    const char *old_path = NULL;
    for (size_t i = 0; i < count; i++) {
        const char *e = environ[i];
        if (strncmp(e, "PYTHONDONTWRITEBYTECODE=", 24) == 0 ||
            strncmp(e, "PYTHONPYCACHEPREFIX=", 20) == 0)
            continue;
        if (strncmp(e, "PYTHONPATH=", 11) == 0) {
            old_path = e + 11;
            continue;
        }
        env[out++] = (char *)e;
    }
    const char *prefix = "PYTHONPYCACHEPREFIX=";
    char *cache = malloc(strlen(prefix) + strlen(LH_PYCACHE) + 1);
    const char *search = LH_PYTHONPATH;
    size_t extra = old_path && *old_path ? strlen(old_path) + 1 : 0;
    char *path = malloc(11 + strlen(search) + extra + 1);
    if (!cache || !path) return NULL;
    sprintf(cache, "%s%s", prefix, LH_PYCACHE);
    sprintf(path, "PYTHONPATH=%s%s%s", search, extra ? ":" : "", extra ? old_path : "");
    env[out++] = cache;
    env[out++] = path;
    env[out] = NULL;
    return env;
}

static void exec_direct(int kind, int argc, char **argv, char **env) {
    char **args = calloc((size_t)argc + 6, sizeof *args);
    if (args && env) {
        int n = 0;
        args[n++] = LH_PYTHON;
        args[n++] = "-S";
        args[n++] = "-P";
        args[n++] = "-m";
        args[n++] = (char *)module_for(kind);
        for (int i = 1; i < argc; i++) args[n++] = argv[i];
        args[n] = NULL;
        execve(LH_PYTHON, args, env);
    }
    fprintf(stderr, "linkharness: error: cannot run %s: %s\n", LH_PYTHON, strerror(errno));
    exit(1);
}

/* -- starting a server ------------------------------------------------------------------- */

/* A daemon in its own session, holding nothing of ours: stdin/stdout/stderr are /dev/null
   and every other descriptor is closed (a build that pipes its output waits for every
   holder of the pipe to close it).  It imports the linker only once this link is done,
   so as not to take a core from it. */
static void start_server(const char *path, char **env) {
    char linker[32]; /* this process, which links directly next: the server starts after */
    snprintf(linker, sizeof linker, "%ld", (long)getpid());
    pid_t pid = fork();
    if (pid < 0) return;
    if (pid == 0) {
        if (setsid() < 0 || fork() != 0) _exit(0);
        int null = open("/dev/null", O_RDWR);
        if (null < 0) _exit(1);
        for (int fd = 0; fd < 3; fd++) dup2(null, fd);
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
        if (chdir("/") != 0) _exit(1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        char *args[] = {LH_PYTHON, "-S", "-P", "-m", "linker.link_server", "serve",
                        "--socket", (char *)path, "--after", linker, NULL};
        execve(LH_PYTHON, args, env);
        _exit(127);
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

/* -- one link through the server ----------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read exactly `len` bytes within `timeout_ms` (-1: no limit); -1 on EOF, error or time. */
static int read_exact(int fd, char *data, size_t len, int timeout_ms) {
    while (len > 0) {
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, timeout_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return -1;
        ssize_t n = read(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

struct request_header {
    char magic[8];
    uint32_t kind, umask, fd_mask, argc, envc, reserved;
    uint64_t payload;
};

/* Send the request; the status the server reports (>= 0: exit code, else -(signal)), or
   INT_MIN when the server did not take the link (then nothing has run). */
static int link_through(int sock, int kind, int argc, char **argv, char **env,
                        int wait_ms) {
    int fds[4], nfds = 0;
    struct request_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, REQUEST_MAGIC, 8);
    h.kind = (uint32_t)kind;
    mode_t mask = umask(0);
    umask(mask);
    h.umask = (uint32_t)mask;
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) >= 0) {
            fds[nfds++] = fd;
            h.fd_mask |= 1u << fd;
        }
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0) return INT_MIN; /* a working directory we cannot open: the direct way */
    fds[nfds++] = cwd;
    size_t payload = 0;
    for (int i = 1; i < argc; i++) payload += strlen(argv[i]) + 1;
    size_t envc = 0;
    for (; env[envc]; envc++) payload += strlen(env[envc]) + 1;
    h.argc = (uint32_t)(argc - 1);
    h.envc = (uint32_t)envc;
    h.payload = payload;

    ssize_t sent;
    do sent = send(sock, &h, sizeof h, MSG_NOSIGNAL); while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)sizeof h) return close(cwd), INT_MIN;
    for (int i = 1; i < argc; i++)
        if (write_all(sock, argv[i], strlen(argv[i]) + 1) != 0) return close(cwd), INT_MIN;
    for (size_t i = 0; i < envc; i++)
        if (write_all(sock, env[i], strlen(env[i]) + 1) != 0) return close(cwd), INT_MIN;

    /* The descriptors go only to a child that took the request: descriptors in flight in
       the queue of a server that never accepts would keep a build's pipe open. */
    char ack[8];
    if (read_exact(sock, ack, sizeof ack, wait_ms) != 0 || memcmp(ack, ACK_MAGIC, 4) != 0)
        return close(cwd), INT_MIN;
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    do sent = sendmsg(sock, &msg, MSG_NOSIGNAL); while (sent < 0 && errno == EINTR);
    close(cwd);
    if (sent != 1) return INT_MIN; /* the child left before it had them: nothing ran */
    struct {
        int32_t kind, value;             /* {0, exit code} or {1, signal} */
        int64_t user_us, sys_us, rss_kib; /* what the link's child used */
    } status;
    if (read_exact(sock, (char *)&status, sizeof status, -1) != 0)
        return INT_MIN; /* the server went away mid-link: link again, directly */
    const char *usage = getenv("LINKHARNESS_SERVER_RUSAGE");
    if (usage && *usage) {
        FILE *f = fopen(usage, "a");
        if (f) {
            fprintf(f, "%lld %lld %lld\n", (long long)status.user_us, (long long)status.sys_us,
                    (long long)status.rss_kib);
            fclose(f);
        }
    }
    return status.kind == 0 ? status.value : -status.value;
}

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    int kind = strncmp(base, "ld64", 4) == 0 ? KIND_LD64 : KIND_LD;
    char **env = linker_environment();
    char path[PATH_MAX];
    int have_path = socket_path(path, sizeof path) == 0;
    if (argc == 2 && strcmp(argv[1], "--linkharness-server-socket") == 0) {
        if (!have_path) return 1;
        puts(path);
        return 0;
    }
    const char *setting = getenv("LINKHARNESS_SERVER");
    int enabled = !(setting && strcmp(setting, "0") == 0);
    if (enabled && have_path && env) {
        int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr;
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path, strlen(path) + 1);
        /* A server that stopped accepting must not hang us: connecting (when its queue is
           full) and sending time out as waiting for its answer does. */
        const char *wait = getenv("LINKHARNESS_SERVER_WAIT_MS");
        int wait_ms = wait && *wait ? atoi(wait) : DEFAULT_WAIT_MS;
        struct timeval limit = {wait_ms / 1000, (wait_ms % 1000) * 1000};
        if (sock >= 0) setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        int private = private_directory_of(path);
        int connected = sock >= 0 && private == 1 &&
                        connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0;
        if (connected) {
            int status = link_through(sock, kind, argc, argv, env, wait_ms);
            if (status >= 0) return status;
            if (status != INT_MIN) { /* the link died of a signal: so do we */
                signal(-status, SIG_DFL);
                raise(-status);
                return 128 - status;
            }
        } else if (private == 0 || (private == 1 && (errno == ENOENT || errno == ECONNREFUSED))) {
            start_server(path, env); /* none there, or a dead one's socket: for next time */
        }
        if (sock >= 0) close(sock);
    }
    exec_direct(kind, argc, argv, env);
    return 1;
}
