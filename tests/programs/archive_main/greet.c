/* Pulled from the archive by main.o's reference to greeting. */
int greet_count;

const char *greeting(void)
{
    greet_count++;
    return "main came from an archive";
}
