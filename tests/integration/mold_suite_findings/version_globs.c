/* Exports whose names several wildcard patterns of version_globs.map match. */
void open_file(void) {}
void open_socket_file(void) {}
void close_all(void) {}
void stay_hidden(void) {}
void star_literal(void) {}
