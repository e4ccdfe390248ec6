/* What sqlite's shell asks before it reads a line: access() on paths, the working
   directory, the user's passwd entry (home directory); and sysconf (its WAL mode).  Only what is the same for the
   emulated user and a native one is printed (the native user and cwd differ). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    FILE *f = fopen("here.txt", "w");
    fputs("x", f);
    fclose(f);
    int r;
    r = access("here.txt", F_OK);
    printf("file F_OK %d\n", r);
    r = access("here.txt", R_OK | W_OK);
    printf("file R_OK|W_OK %d\n", r);
    r = access("missing.txt", F_OK);
    printf("missing %d errno=%d\n", r, errno);
    errno = 0;
    r = access(".", X_OK);
    printf("cwd X_OK %d\n", r);
    char buf[4096];
    char *got = getcwd(buf, 1);
    printf("getcwd tiny: %d errno=%d\n", got == NULL, errno);
    got = getcwd(buf, sizeof buf);
    printf("getcwd: %d absolute=%d\n", got == buf, buf[0] == '/');
    struct passwd *pw = getpwuid(getuid());
    printf("getpwuid: %d", pw != NULL);
    if (pw)
        printf(" uid=%d dir-absolute=%d name-set=%d shell-set=%d", pw->pw_uid == getuid(),
               pw->pw_dir[0] == '/', pw->pw_name[0] != 0, pw->pw_shell[0] == '/');
    printf("\n");
    if (pw) {
        struct passwd *again = getpwnam(pw->pw_name);
        printf("getpwnam: %d\n", again != NULL && again->pw_uid == getuid());
    }
    printf("unknown uid: %d\n", getpwuid(54321) == NULL);
    printf("sysconf: page %ld = %d, clock ticks %ld, processors>=1 %d, open max>=256 %d\n",
           sysconf(_SC_PAGESIZE), getpagesize(), sysconf(_SC_CLK_TCK),
           sysconf(_SC_NPROCESSORS_ONLN) >= 1, sysconf(_SC_OPEN_MAX) >= 256);
    errno = 0;
    long bad = sysconf(-5);
    printf("sysconf bad: %ld errno=%d\n", bad, errno);
    return 0;
}
