/* Calls a function that no input and no library defines: every linker must refuse, and
 * linkharness's LinkError must name the symbol. */
int missing_function(int);

int main(void)
{
    return missing_function(1);
}
