/* COMMON symbols and an archive: the member that initialises one is pulled, the
   member that has it only as COMMON too is not. */
#include <stdio.h>
int shared_counter;          /* COMMON (-fcommon) */
int only_common;             /* COMMON here and COMMON in a member */
extern int member_marker(void) __attribute__((weak));
extern int other_marker(void) __attribute__((weak));
int main(void) {
    printf("counter=%d only=%d defining-member=%s common-member=%s\n", shared_counter,
           only_common, member_marker ? "pulled" : "not pulled",
           other_marker ? "pulled" : "not pulled");
    return 0;
}
