/* Time and dates: fixed instants broken down, normalized and formatted (compared with a
   native run in UTC), and the live clocks only for their sanity. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static void show(const char *what, const struct tm *tm) {
    printf("%s: %d-%02d-%02d %02d:%02d:%02d wday=%d yday=%d dst=%d zone=%s\n", what,
           tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
           tm->tm_sec, tm->tm_wday, tm->tm_yday, tm->tm_isdst, tm->tm_zone);
}

int main(void) {
    time_t instants[] = {0, 951782400, 1234567890, 2147483647, -86400 * 365};
    char buf[128];
    for (unsigned i = 0; i < sizeof instants / sizeof *instants; i++) {
        struct tm tm;
        show("gmtime_r", gmtime_r(&instants[i], &tm));
        show("localtime_r", localtime_r(&instants[i], &tm));
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %b %j %U %Z|%c|%x %X|%%|%e", &tm);
        printf("strftime %zu: %s\n", n, buf);
    }
    show("gmtime", gmtime(&instants[2]));
    show("localtime", localtime(&instants[3]));
    printf("strftime too small: %zu\n", strftime(buf, 5, "%Y-%m-%d", gmtime(&instants[2])));
    struct tm odd = {.tm_year = 99, .tm_mon = 13, .tm_mday = 31, .tm_hour = 25, .tm_min = -5};
    time_t t = mktime(&odd);
    printf("mktime: %lld\n", (long long)t);
    show("normalized", &odd);
    struct tm odd2 = {.tm_year = 70, .tm_mday = 0};
    printf("timegm: %lld\n", (long long)timegm(&odd2));
    show("normalized", &odd2);
    printf("difftime: %.1f\n", difftime(instants[2], instants[1]));
    time_t now = time(NULL), stored = 0;
    time(&stored);
    printf("time sane: %d %d\n", now > 1700000000, stored >= now && stored - now < 5);
    struct timeval tv;
    struct timespec ts;
    gettimeofday(&tv, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("gettimeofday sane: %d %d\n", tv.tv_sec - now < 5, tv.tv_usec < 1000000);
    printf("clock_gettime sane: %d %d\n", ts.tv_sec - now < 5, ts.tv_nsec < 1000000000);
    clock_t c = clock();
    printf("clock sane: %d\n", c >= 0 && c < 60 * CLOCKS_PER_SEC);
    return 0;
}
