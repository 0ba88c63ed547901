/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: an append-only RFC 9162 Merkle tree over a log store (src/store), with
 * group commit, proof generation, signed C2SP checkpoints, tlog-tiles export and
 * tlog-proof receipts.
 *
 * Durability: cs_log_append returns only once its entry, the new hashes and the new size
 * are committed by the store (SQLite: WAL + synchronous=FULL). Concurrent appends from
 * many threads share one commit (group commit). A checkpoint is computed inside a read
 * snapshot of committed rows, so it never covers an entry that is not durable.
 *
 * Memory: the right edge of the committed tree and the tree levels from 8 up are cached
 * (about size / 4 bytes), so that appends read no siblings back and an inclusion proof in the
 * current tree reads at most 9 hashes from the store, in one statement. Every cached hash is
 * a committed row, so a cache may lag the store but never disagree with it.
 */
#ifndef CS_TLOG_LOG_H
#define CS_TLOG_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_buf.h"
#include "core/cs_cur.h"
#include "core/cs_file.h"
#include "core/cs_result.h"
#include "store/log_store.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

#define CS_LOG_ENTRY_MAX 65535u  /* tlog-tiles entry bundles use u16 lengths */
#define CS_LOG_BATCH_MAX 4096u   /* entries per commit */
#define CS_LOG_NOTE_MAX 4096u    /* a checkpoint note we sign */

struct cs_log; /* heap object: cs_log_open / cs_log_close */

/* Takes ownership of store (closed by cs_log_close, also when this fails). */
CS_RESULT cs_log_open(struct cs_log_store store, struct cs_log **out);
void cs_log_close(struct cs_log *log);

/* Appends one entry (1..CS_LOG_ENTRY_MAX bytes); thread-safe; durable on return. */
CS_RESULT cs_log_append(struct cs_log *log, struct cs_cur entry, uint64_t *index);

/*
 * Appends n (<= CS_LOG_BATCH_MAX) entries as consecutive indices (first at *first) in one
 * commit: all of them are durable on return, or none. Thread-safe.
 */
CS_RESULT cs_log_append_many(struct cs_log *log, const struct cs_cur *entries, size_t n,
                             uint64_t *first);

CS_RESULT cs_log_size(struct cs_log *log, uint64_t *size);

/*
 * Bytes of memory the log holds for its caches: the tree levels from 8 up (about size / 4
 * bytes, allocated by doubling) and the right edge. For sizing and benchmarks.
 */
size_t cs_log_cache_bytes(struct cs_log *log);

/* The root of the tree of the first `size` entries (size <= the current size). */
CS_RESULT cs_log_root(struct cs_log *log, uint64_t size, uint8_t root[CS_MERKLE_HASH_LEN]);

/* The entry at index; *out owned by the caller. */
CS_RESULT cs_log_entry(struct cs_log *log, uint64_t index, struct cs_blob *out);

/*
 * Inclusion proof of index in the tree of `size` entries: leaf hash, root and proof
 * (proof holds CS_MERKLE_PROOF_MAX hashes; *n_proof is the count). RFC 9162 2.1.3.1.
 */
CS_RESULT cs_log_prove_inclusion(struct cs_log *log, uint64_t index, uint64_t size,
                                 uint8_t leaf[CS_MERKLE_HASH_LEN],
                                 uint8_t root[CS_MERKLE_HASH_LEN],
                                 uint8_t proof[CS_MERKLE_PROOF_MAX * CS_MERKLE_HASH_LEN],
                                 size_t *n_proof);

/* Consistency proof from old_size to new_size (0 < old_size <= new_size). RFC 9162 2.1.4.1. */
CS_RESULT cs_log_prove_consistency(struct cs_log *log, uint64_t old_size, uint64_t new_size,
                                   uint8_t old_root[CS_MERKLE_HASH_LEN],
                                   uint8_t new_root[CS_MERKLE_HASH_LEN],
                                   uint8_t proof[CS_MERKLE_PROOF_MAX * CS_MERKLE_HASH_LEN],
                                   size_t *n_proof);

/*
 * Signs a checkpoint of the current tree (origin = the signer's key name) and records it.
 * out receives the signed note (NUL-terminated, cap >= CS_LOG_NOTE_MAX).
 */
CS_RESULT cs_log_checkpoint(struct cs_log *log, const struct cs_note_signer *signer, char *out,
                            size_t cap, size_t *len, uint64_t *size);

/*
 * Writes the C2SP tlog-tiles layout of the tree of `size` entries under dir: `checkpoint`
 * (the given signed note, whose size must be `size`), level tiles `tile/<L>/<N>[.p/<W>]`
 * and entry bundles `tile/entries/<N>[.p/<W>]`. Files are written whole and renamed into
 * place.
 */
CS_RESULT cs_log_write_tiles(struct cs_log *log, uint64_t size, struct cs_cur checkpoint,
                             const char *dir);

/* The tile path of index n, e.g. 1234067 -> "x001/x234/067". */
/*
 * One C2SP tlog-tiles tile of the current tree, appended to out: the `width` (1..256) hashes
 * of level 8L from index 256n (tile/<L>/<N>[.p/<W>]). CS_E_NOT_FOUND when the tree does
 * not (yet) hold them all.
 */
CS_RESULT cs_log_tile(struct cs_log *log, unsigned L, uint64_t n, unsigned width,
                      struct cs_buf *out);
/* One entry bundle (tile/entries/<N>[.p/<W>]): u16 length + bytes of each entry. */
CS_RESULT cs_log_entry_bundle(struct cs_log *log, uint64_t n, unsigned width, struct cs_buf *out);

CS_RESULT cs_tile_index_path(uint64_t n, char *out, size_t cap);

#endif
