/* SPDX-License-Identifier: Apache-2.0 */
/* The test harness runner and shared helpers. */
#include "cs_test.h"

#include <sys/stat.h>

#include "core/cs_file.h"

int cs_test_failures;
const char *cs_test_current = "";

int cs_test_run(const struct cs_test_case *cases, size_t n)
{
    int failed_tests = 0;
    for (size_t i = 0; i < n; i++) {
        int before = cs_test_failures;
        cs_test_current = cases[i].name;
        cases[i].fn();
        bool is_ok = cs_test_failures == before;
        failed_tests += !is_ok;
        printf("%s %s\n", is_ok ? "ok  " : "FAIL", cases[i].name);
    }
    printf("%zu tests, %d failed\n", n, failed_tests);
    return failed_tests == 0 ? 0 : 1;
}

const char *tv_shared_dir(void)
{
    static char dir[4096];
    const char *env = getenv("CS_SHARED_DIR");
    const char *base = env != NULL && env[0] != '\0' ? env : CS_DEFAULT_SHARED_DIR;
    snprintf(dir, sizeof dir, "%s", base);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return NULL;
    }
    return dir;
}

unsigned char *tv_dup(const void *p, size_t n)
{
    unsigned char *q = malloc(n == 0 ? 1 : n);
    if (q == NULL) {
        abort();
    }
    if (n > 0) {
        memcpy(q, p, n);
    }
    return q;
}

unsigned char *tv_read(const char *path, size_t *len)
{
    struct cs_blob b;
    if (!cs_ok(cs_file_read(path, 64u * 1024u * 1024u, &b))) {
        fprintf(stderr, "cannot read test data %s\n", path);
        abort();
    }
    *len = b.len;
    return b.p; /* allocated by cs_alloc (calloc): free() is fine */
}
