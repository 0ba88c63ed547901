/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlog_fill: appends many entries to a custos log database in a few commits, for the Go
 * interop test (run.sh, interop.go), where one `custos log append` process per entry would
 * make trees of thousands of entries slow.
 *
 *   tlog_fill DB FILE     FILE: entries as a tlog-tiles entry bundle (u16be length || bytes,
 *                         repeated); prints "<index of the first> <new tree size>"
 *
 * Entries go through cs_log_append_many in chunks of varying size (1..1000), so the log sees
 * batches that straddle its per-level hash boundaries.
 */
#include <stdio.h>
#include <string.h>

#include "core/cs_cur.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

#define FILL_MAX (256u * 1024u * 1024u)

static cs_res parse_bundle(struct cs_cur in, struct cs_cur *entries, size_t cap, size_t *n)
{
    *n = 0;
    while (in.left > 0) {
        uint16_t len = 0;
        CS_ENSURE(*n < cap, CS_E_TOO_LARGE);
        CS_TRY(cs_cur_u16be(&in, &len));
        CS_TRY(cs_cur_view(&in, len, &entries[*n]));
        (*n)++;
    }
    return CS_SUCCESS;
}

static cs_res fill(const char *db, const char *file, uint64_t *first, uint64_t *size)
{
    struct cs_blob b = { 0 };
    CS_TRY(cs_file_read(file, FILL_MAX, &b));
    size_t cap = b.len / 2 + 1; /* each entry takes at least its 2-byte length */
    struct cs_cur *entries = NULL;
    cs_res r = cs_alloc(cap, sizeof *entries, (void **)&entries);
    size_t n = 0;
    if (cs_ok(r)) {
        r = parse_bundle(cs_cur_of(b.p, b.len), entries, cap, &n);
    }
    struct cs_log *log = NULL;
    struct cs_log_store st;
    if (cs_ok(r)) {
        r = cs_log_sqlite_open(db, &st);
    }
    if (cs_ok(r)) {
        r = cs_log_open(st, &log);
    }
    if (cs_ok(r)) {
        r = cs_log_size(log, first);
    }
    uint64_t x = n * 2654435761u + 1; /* chunk sizes: deterministic, varied */
    for (size_t done = 0; cs_ok(r) && done < n;) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t k = 1 + (size_t)((x >> 33) % 1000);
        if (k > n - done) {
            k = n - done;
        }
        uint64_t at = 0;
        r = cs_log_append_many(log, entries + done, k, &at);
        if (cs_ok(r) && at != *first + done) {
            r = (cs_res){ .code = CS_E_INTERNAL, .line = __LINE__, .file = __FILE__ };
        }
        done += k;
    }
    if (cs_ok(r)) {
        r = cs_log_size(log, size);
    }
    cs_log_close(log);
    cs_free(entries);
    cs_blob_clear(&b);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tlog_fill DB FILE\n");
        return 2;
    }
    uint64_t first = 0, size = 0;
    cs_res r = fill(argv[1], argv[2], &first, &size);
    if (!cs_ok(r)) {
        fprintf(stderr, "tlog_fill: %s (raised at %s:%u)\n", custos_code_name(r.code),
                r.file ? r.file : "?", r.line);
        return 1;
    }
    printf("%llu %llu\n", (unsigned long long)first, (unsigned long long)size);
    return 0;
}
