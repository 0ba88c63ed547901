/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 9162 Merkle tree hashing and proof verification (section 2.1): the part of the
 * audit log that auditors, agents and witnesses run without trusting the broker.
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * Proofs and leaf lists are n concatenated 32-byte hashes; proofs are bottom-up (the
 * first hash is the leaf's sibling).
 */
#ifndef CS_TLOG_MERKLE_H
#define CS_TLOG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_MERKLE_HASH_LEN 32
#define CS_MERKLE_PROOF_MAX 64 /* a tree of 2^64 leaves has proofs of at most 64 hashes */

CS_RESULT cs_merkle_leaf_hash(struct cs_cur entry, uint8_t out[CS_MERKLE_HASH_LEN]);
CS_RESULT cs_merkle_node_hash(const uint8_t left[CS_MERKLE_HASH_LEN],
                              const uint8_t right[CS_MERKLE_HASH_LEN],
                              uint8_t out[CS_MERKLE_HASH_LEN]);
CS_RESULT cs_merkle_empty_root(uint8_t out[CS_MERKLE_HASH_LEN]);

/*
 * The root of the tree whose leaf hashes are given, in order (MTH of RFC 9162 2.1.1),
 * computed in O(n) time and O(log n) space. n may be 0 (the empty root).
 */
CS_RESULT cs_merkle_root(const uint8_t *leaves, uint64_t n,
                         uint8_t out[CS_MERKLE_HASH_LEN]);

/*
 * Verifies an inclusion proof (RFC 9162 2.1.3.2) of leaf_hash at index in a tree of size
 * with the given root. CS_E_SIGNATURE when the proof does not lead to the root (or has
 * the wrong length for index and size), CS_E_ARG for index >= size.
 */
CS_RESULT cs_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                     const uint8_t leaf_hash[CS_MERKLE_HASH_LEN],
                                     const uint8_t *proof, size_t n_proof,
                                     const uint8_t root[CS_MERKLE_HASH_LEN]);

/*
 * Verifies a consistency proof (RFC 9162 2.1.4.2) between a tree of old_size with
 * old_root and a tree of new_size with new_root. old_size == new_size requires an empty
 * proof and equal roots; old_size == 0 is refused (nothing to be consistent with).
 * CS_E_SIGNATURE when the proof does not hold, CS_E_ARG for old_size > new_size or 0.
 */
CS_RESULT cs_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                       const uint8_t old_root[CS_MERKLE_HASH_LEN],
                                       const uint8_t new_root[CS_MERKLE_HASH_LEN],
                                       const uint8_t *proof,
                                       size_t n_proof);

#endif
