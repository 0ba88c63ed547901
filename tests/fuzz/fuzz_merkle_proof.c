/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: RFC 9162 proof verification on hostile proofs. The input is read as
 * u64 index, u64 size, u64 new size, then 32-byte hashes (leaf/old root, root/new root,
 * proof...). Corpus: corpus/merkle_proof/.
 *
 * Invariants: no call crashes or reads outside the proof; the only successes are those
 * a correct tree allows: a size-1 inclusion proof is empty and its root is the leaf, an
 * equal-size consistency proof is empty with equal roots.
 */
#include <string.h>

#include "core/cs_cur.h"
#include "fuzz_target.h"
#include "tlog/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_cur c = cs_cur_of(data, size);
    uint64_t index = 0, tree_size = 0, new_size = 0;
    uint8_t a[32], b[32];
    if (!cs_ok(cs_cur_u64le(&c, &index)) || !cs_ok(cs_cur_u64le(&c, &tree_size)) ||
        !cs_ok(cs_cur_u64le(&c, &new_size)) || !cs_ok(cs_cur_copy(&c, a, sizeof a)) ||
        !cs_ok(cs_cur_copy(&c, b, sizeof b))) {
        return 0;
    }
    size_t n = c.left / CS_MERKLE_HASH_LEN;
    const uint8_t *proof = n > 0 ? c.p : NULL;

    cs_res r = cs_merkle_verify_inclusion(index, tree_size, a, proof, n, b);
    if (cs_ok(r)) {
        FUZZ_CHECK(index < tree_size);
        if (tree_size == 1) {
            FUZZ_CHECK(n == 0 && memcmp(a, b, 32) == 0);
        }
    } else {
        FUZZ_CHECK(r.code == CS_E_SIGNATURE || r.code == CS_E_ARG);
        FUZZ_CHECK(r.code != CS_E_ARG || index >= tree_size);
    }

    r = cs_merkle_verify_consistency(tree_size, new_size, a, b, proof, n);
    if (cs_ok(r)) {
        FUZZ_CHECK(tree_size > 0 && tree_size <= new_size);
        if (tree_size == new_size) {
            FUZZ_CHECK(n == 0 && memcmp(a, b, 32) == 0);
        }
    } else {
        FUZZ_CHECK(r.code == CS_E_SIGNATURE || r.code == CS_E_ARG);
    }
    return 0;
}
