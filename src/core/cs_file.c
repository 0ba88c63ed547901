/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads with a size ceiling. */
#include "core/cs_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cs_mem.h"

void cs_blob_clear(struct cs_blob *b)
{
    if (b != NULL) {
        cs_free(b->p);
        *b = (struct cs_blob){ 0 };
    }
}

CS_RESULT cs_fd_read(int fd, size_t max, struct cs_blob *out)
{
    CS_ENSURE(out != NULL && fd >= 0 && max < SIZE_MAX - 1, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    size_t cap = max < 65536 ? max + 1 : 65536;
    uint8_t *buf = NULL;
    CS_TRY(cs_alloc(cap + 1, 1, (void **)&buf));
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > max) {
                cs_free(buf);
                CS_FAIL(CS_E_TOO_LARGE);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *nb = NULL;
            cs_res r = cs_alloc(ncap + 1, 1, (void **)&nb);
            if (!cs_ok(r)) {
                cs_free(buf);
                return r;
            }
            for (size_t i = 0; i < len; i++) {
                nb[i] = buf[i];
            }
            cs_free(buf);
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            cs_free(buf);
            CS_FAIL(CS_E_IO);
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    if (len > max) {
        cs_free(buf);
        CS_FAIL(CS_E_TOO_LARGE);
    }
    buf[len] = 0;
    *out = (struct cs_blob){ buf, len };
    return CS_SUCCESS;
}

CS_RESULT cs_file_read(const char *path, size_t max, struct cs_blob *out)
{
    CS_ENSURE(path != NULL && out != NULL, CS_E_ARG);
    *out = (struct cs_blob){ 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    CS_ENSURE(fd >= 0, CS_E_IO);
    cs_res r = cs_fd_read(fd, max, out);
    close(fd);
    return r;
}

CS_RESULT cs_fd_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    CS_ENSURE(b != NULL || len == 0, CS_E_ARG);
    while (len > 0) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        CS_ENSURE(w > 0, CS_E_IO);
        b += w;
        len -= (size_t)w;
    }
    return CS_SUCCESS;
}

CS_RESULT cs_fsync_parent(const char *path)
{
    CS_ENSURE(path != NULL, CS_E_ARG);
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s", path);
    CS_ENSURE(n > 0 && (size_t)n < sizeof dir, CS_E_ARG);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CS_ENSURE(fd >= 0, CS_E_IO);
    bool is_ok = fsync(fd) == 0;
    is_ok &= close(fd) == 0;
    CS_ENSURE(is_ok, CS_E_IO);
    return CS_SUCCESS;
}
