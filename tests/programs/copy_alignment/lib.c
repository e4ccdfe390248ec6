/* Data objects of a shared library with various alignments and constness; a non-PIC
 * executable gets a COPY of each, which must keep the object's alignment. */
__attribute__((aligned(64))) double lib_vec[8] = {1, 2, 3, 4, 5, 6, 7, 8};
char lib_odd = 'o';
__attribute__((aligned(16))) char lib_buf16[16] = "sixteen-aligned";
__attribute__((aligned(32))) const int lib_const[4] = {10, 20, 30, 40};
long lib_long = 123456789;

double lib_vec_sum(void)
{
    double s = 0;
    for (int i = 0; i < 8; i++)
        s += lib_vec[i];
    return s;
}
