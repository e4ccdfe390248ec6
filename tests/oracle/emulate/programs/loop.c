/* Never ends: the instruction budget must stop it. */
volatile int sink;

int main(void) {
    for (;;) sink++;
}
