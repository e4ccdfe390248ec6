/* Defines duplicated_symbol (a strong definition); dup2.c defines it again. */
int duplicated_symbol(void) { return 1; }

int main(void)
{
    return duplicated_symbol();
}
