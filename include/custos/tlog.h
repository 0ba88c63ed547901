/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checking the audit log without trusting the broker: RFC 9162 proofs, C2SP checkpoints
 * under a key/witness policy, and tlog-proof receipts. For agents, auditors and witnesses.
 * Pure functions of their inputs; no I/O.
 */
#ifndef CUSTOS_TLOG_H
#define CUSTOS_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "custos/result.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define CUSTOS_HASH_LEN 32

/* SHA-256(0x00 || entry): the leaf hash of an entry. */
CS_RESULT custos_tlog_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[CUSTOS_HASH_LEN]);

/*
 * RFC 9162 2.1.3.2: that leaf_hash is entry `index` of the tree of `size` entries with
 * `root`. proof is n concatenated 32-byte hashes, bottom-up. CS_E_SIGNATURE if not.
 */
CS_RESULT custos_tlog_verify_inclusion(uint64_t index, uint64_t size,
                                       const uint8_t leaf_hash[CUSTOS_HASH_LEN],
                                       const uint8_t *proof, size_t n,
                                       const uint8_t root[CUSTOS_HASH_LEN]);

/* RFC 9162 2.1.4.2: that the tree (old_size, old_root) is a prefix of (new_size, new_root). */
CS_RESULT custos_tlog_verify_consistency(uint64_t old_size, uint64_t new_size,
                                         const uint8_t old_root[CUSTOS_HASH_LEN],
                                         const uint8_t new_root[CUSTOS_HASH_LEN],
                                         const uint8_t *proof, size_t n);

/* Who must have signed a checkpoint (verifier keys in the Go note format). */
struct custos_tlog_policy {
    const char *const *log_vkeys; /* at least one must have signed */
    size_t n_log_vkeys;
    const char *const *witness_vkeys; /* Ed25519 cosignature (0x04) or note (0x01) keys */
    size_t n_witness_vkeys;
    size_t quorum;      /* distinct witnesses that must have cosigned */
    const char *origin; /* required origin line, or NULL */
};

struct custos_checkpoint {
    uint64_t size;
    uint8_t root[CUSTOS_HASH_LEN];
    size_t n_witnessed;
};

/*
 * Opens a signed checkpoint note under the policy. CS_E_ARG for a malformed key in the
 * policy; CS_E_FORMAT, CS_E_SIGNATURE (a known key fails, no log signature, quorum not
 * met), CS_E_BINDING (origin) for the note.
 */
CS_RESULT custos_tlog_checkpoint_open(const uint8_t *note, size_t len,
                                      const struct custos_tlog_policy *policy,
                                      struct custos_checkpoint *out);

/*
 * Verifies a C2SP tlog-proof receipt for an entry: the checkpoint under the policy, then
 * the entry's inclusion at the receipt's index. *index receives that index.
 */
CS_RESULT custos_tlog_receipt_verify(const uint8_t *receipt, size_t len, const uint8_t *entry,
                                     size_t entry_len, const struct custos_tlog_policy *policy,
                                     uint64_t *index, struct custos_checkpoint *out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
