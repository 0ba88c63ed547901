/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a size ceiling, for the CLI and the tests. */
#ifndef CS_CORE_FILE_H
#define CS_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_blob {
    uint8_t *p; /* owned; NUL-terminated one byte past len for the convenience of text users */
    size_t len;
};

/*
 * Reads the whole file at path (at most max bytes, else CS_E_TOO_LARGE; missing or
 * unreadable: CS_E_IO). Ownership: on CS_OK the caller clears *out with cs_blob_clear.
 */
CS_RESULT cs_file_read(const char *path, size_t max, struct cs_blob *out);

/* Reads at most max bytes from an open descriptor until EOF. */
CS_RESULT cs_fd_read(int fd, size_t max, struct cs_blob *out);

void cs_blob_clear(struct cs_blob *b);

/* Writes all len bytes to fd, retrying short writes and EINTR. CS_E_IO on any failure. */
CS_RESULT cs_fd_write_all(int fd, const void *p, size_t len);

/* fsync of the directory that holds path, so that a new or renamed entry survives a crash. */
CS_RESULT cs_fsync_parent(const char *path);

#endif
