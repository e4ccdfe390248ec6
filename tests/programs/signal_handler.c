/* A local function handed to libc as a signal handler, run synchronously via raise(). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t seen[3];

static void on_usr(int sig)
{
    if (sig == SIGUSR1)
        seen[0]++;
    else if (sig == SIGUSR2)
        seen[1]++;
}

static void on_action(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    seen[2] += sig == SIGUSR1 && info->si_signo == SIGUSR1;
}

int main(void)
{
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    raise(SIGUSR1);
    raise(SIGUSR2);
    raise(SIGUSR2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_action;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("usr1 %d usr2 %d siginfo %d\n", seen[0], seen[1], seen[2]);
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored, still here\n");
    return 0;
}
