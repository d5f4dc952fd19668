/*
 * input.h - reading the message to send.
 */
#ifndef SMTPC_CLI_INPUT_H
#define SMTPC_CLI_INPUT_H

#include <stddef.h>

/**
 * Reads the whole of path (NULL or "-": standard input) into *data
 * (malloc'd, free() it; never NULL on success, even when empty).
 * Returns 0, or an errno value (ENOMEM when out of memory, EFBIG when the
 * size does not fit in memory).
 */
int cli_read_message(const char *path, char **data, size_t *len);

#endif /* SMTPC_CLI_INPUT_H */
