/* Definitions with hidden and protected visibility. */
__attribute__((visibility("hidden"))) int hidden_state = 1;
__attribute__((visibility("protected"))) int protected_value = 77;

__attribute__((visibility("hidden"))) int hidden_sum(int a, int b)
{
    hidden_state++;
    return a + b + hidden_state;
}

int visible_twice(int x) { return hidden_sum(x, x) - hidden_state; }
