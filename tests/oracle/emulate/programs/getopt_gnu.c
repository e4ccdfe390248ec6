/* GNU getopt, getopt_long and getopt_long_only as a program sees them: every return
   value with optind, optarg, optopt and the long index, then argv as getopt left it
   (permuted), then a second pass after optind = 0.  GETOPT_MODE picks the function
   (short, long, long_only), GETOPT_SPEC the optstring, GETOPT_QUIET sets opterr = 0. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int verbose_flag;

static const struct option longopts[] = {
    {"alpha", no_argument, NULL, 'a'},
    {"beta", required_argument, NULL, 'b'},
    {"gamma", optional_argument, NULL, 'g'},
    {"verbose", no_argument, &verbose_flag, 7},
    {"version", no_argument, NULL, 'V'},
    {"verify", no_argument, NULL, 'y'},
    {"all", no_argument, NULL, 'A'},
    {"also", no_argument, NULL, 'A'},
    {NULL, 0, NULL, 0},
};

static void pass(int argc, char **argv, const char *mode, const char *spec) {
    for (;;) {
        int index = -1;
        int c;
        if (strcmp(mode, "short") == 0)
            c = getopt(argc, argv, spec);
        else if (strcmp(mode, "long_only") == 0)
            c = getopt_long_only(argc, argv, spec, longopts, &index);
        else
            c = getopt_long(argc, argv, spec, longopts, &index);
        if (c == -1)
            break;
        printf("c=%d optind=%d optarg=%s optopt=%d index=%d flag=%d\n", c, optind,
               optarg ? optarg : "(null)", optopt, index, verbose_flag);
    }
    printf("end optind=%d argv:", optind);
    for (int i = 0; i < argc; i++)
        printf(" [%s]", argv[i] ? argv[i] : "(null)");
    printf("\n");
}

int main(int argc, char **argv) {
    const char *mode = getenv("GETOPT_MODE");
    const char *spec = getenv("GETOPT_SPEC");
    if (getenv("GETOPT_QUIET"))
        opterr = 0;
    mode = mode ? mode : "long";
    spec = spec ? spec : "ab:c::W;";
    printf("start optind=%d opterr=%d optopt=%d optarg=%s\n", optind, opterr, optopt,
           optarg ? "set" : "(null)");
    argv[0] = "prog";  /* the name messages use (the path differs between the runs) */
    pass(argc, argv, mode, spec);
    optind = 0;
    pass(argc, argv, mode, spec);
    return 0;
}
