/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage of the audit log: an ops table with one implementation per engine (SQLite now,
 * PostgreSQL for several brokers later). The log (src/tlog/log.c) drives it inside one
 * write transaction per batch of appends, so a batch is durable as a whole or not at all,
 * and a checkpoint can only ever be computed from committed rows.
 *
 * Rows: entries (index -> bytes) and hashes (level, index -> 32 bytes), where hash
 * (l, k) is the root of the perfect subtree over leaves [k * 2^l, (k + 1) * 2^l) — the
 * per-level arrays of the tlog-tiles layout; plus the tree size. Rows are never updated.
 */
#ifndef CS_STORE_LOG_STORE_H
#define CS_STORE_LOG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_file.h"
#include "core/cs_result.h"

#define CS_LOG_STORE_SET_MAX 16u /* positions per get_hash_set */

struct cs_log_store_ops {
    /* Starts the write transaction (exclusive among writers) / ends it durably / undoes it. */
    CS_RESULT (*begin_write)(void *ctx);
    CS_RESULT (*commit)(void *ctx);
    void (*rollback)(void *ctx);
    /* Starts / ends a read snapshot (several reads that must agree). */
    CS_RESULT (*begin_read)(void *ctx);
    void (*end_read)(void *ctx);
    CS_RESULT (*get_size)(void *ctx, uint64_t *size);
    CS_RESULT (*set_size)(void *ctx, uint64_t size);
    CS_RESULT (*get_hash)(void *ctx, unsigned level, uint64_t index, uint8_t out[32]);
    /*
     * The n hashes (level, from), (level, from + 1), ... into out (n * 32 bytes), in one
     * range read. CS_E_STORE when any of them is missing.
     */
    CS_RESULT (*get_hashes)(void *ctx, unsigned level, uint64_t from, uint64_t n, uint8_t *out);
    /*
     * The hashes at n (<= CS_LOG_STORE_SET_MAX) arbitrary positions (levels[i], indices[i])
     * into out + 32 * i, in one read. CS_E_STORE when any of them is missing.
     */
    CS_RESULT (*get_hash_set)(void *ctx, size_t n, const unsigned *levels,
                              const uint64_t *indices, uint8_t *out);
    CS_RESULT (*put_hash)(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32]);
    /* *out owned by the caller (cs_blob_clear). */
    CS_RESULT (*get_entry)(void *ctx, uint64_t index, struct cs_blob *out);
    CS_RESULT (*put_entry)(void *ctx, uint64_t index, struct cs_cur entry);
    /* Signed checkpoints handed out, kept so that later ones can be proven consistent. */
    CS_RESULT (*put_checkpoint)(void *ctx, uint64_t size, struct cs_cur note);
    void (*close)(void *ctx);
};

struct cs_log_store {
    const struct cs_log_store_ops *ops;
    void *ctx;
};

#endif
