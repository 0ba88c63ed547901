/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays fuzz inputs without libFuzzer, so that every committed seed and every crash
 * regression runs in the normal test suite with any compiler, with or without sanitizers.
 *
 * usage: <target>_replay PATH...
 * Each PATH is a file, or a directory whose regular files (one level, names not starting
 * with '.', in name order) are each one input. Every input is handed to
 * LLVMFuzzerTestOneInput in an exact-size heap buffer, as libFuzzer does, so that ASan
 * sees a read one byte past the end. A crash, trap or sanitizer report ends the process
 * (after the name of the input was printed); exit status 1 means a PATH was unreadable.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "fuzz_target.h"

#define REPLAY_INPUT_MAX (16u * 1024u * 1024u)

static void blob_clearp(struct cs_blob *b)
{
    cs_blob_clear(b);
}

static cs_res replay_file(const char *path)
{
    CS_AUTO(blob_clearp) struct cs_blob file = { 0 };
    CS_TRY(cs_file_read(path, REPLAY_INPUT_MAX, &file));
    /* cs_file_read keeps a NUL past the end: copy so the input ends where the heap block does */
    CS_AUTO(cs_freep) uint8_t *exact = NULL;
    CS_TRY(cs_alloc(file.len, 1, (void **)&exact));
    if (file.len > 0) {
        memcpy(exact, file.p, file.len);
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, file.len);
    (void)LLVMFuzzerTestOneInput(exact, file.len);
    return CS_SUCCESS;
}

static int is_visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static void dirents_free(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++) {
        cs_free(names[i]); /* scandir allocates with malloc */
    }
    cs_free(names);
}

static cs_res replay_dir(const char *dir, size_t *n_done)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_visible, alphasort);
    CS_ENSURE(n >= 0, CS_E_IO);
    cs_res r = CS_SUCCESS;
    for (int i = 0; i < n && cs_ok(r); i++) {
        char path[PATH_MAX];
        int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (len < 0 || (size_t)len >= sizeof path) {
            r = (cs_res){ .code = CS_E_ARG, .line = __LINE__, .file = __FILE__ };
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            r = replay_file(path);
            *n_done += cs_ok(r);
        }
    }
    dirents_free(names, n);
    return r;
}

int main(int argc, char **argv)
{
    size_t n_done = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        cs_res r = { .code = CS_E_IO };
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            r = replay_dir(argv[i], &n_done);
        } else if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            r = replay_file(argv[i]);
            n_done += cs_ok(r);
        }
        if (!cs_ok(r)) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], custos_code_name(r.code));
            return 1;
        }
    }
    printf("replay: %zu inputs ran without a crash\n", n_done);
    return 0;
}
