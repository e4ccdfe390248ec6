/* liba member: needed only by libb's member, so liba must be rescanned. */
int a_leaf_calls;

int a_leaf(int x)
{
    a_leaf_calls++;
    return x * 10;
}
