/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9162 Merkle hashing and proof verification (see merkle.h). */
#include "tlog/merkle.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"

#define H CS_MERKLE_HASH_LEN

CS_RESULT cs_merkle_leaf_hash(struct cs_cur entry, uint8_t out[CS_MERKLE_HASH_LEN])
{
    static const uint8_t prefix = 0x00;
    return cs_sha256_2(cs_cur_of(&prefix, 1), entry, out);
}

CS_RESULT cs_merkle_node_hash(const uint8_t left[CS_MERKLE_HASH_LEN],
                              const uint8_t right[CS_MERKLE_HASH_LEN],
                              uint8_t out[CS_MERKLE_HASH_LEN])
{
    uint8_t buf[1 + 2 * CS_MERKLE_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, CS_MERKLE_HASH_LEN);
    memcpy(buf + 1 + CS_MERKLE_HASH_LEN, right, CS_MERKLE_HASH_LEN);
    return cs_sha256(cs_cur_of(buf, sizeof buf), out);
}

CS_RESULT cs_merkle_empty_root(uint8_t out[CS_MERKLE_HASH_LEN])
{
    return cs_sha256(cs_cur_of(NULL, 0), out);
}

/* ---- reusable context ------------------------------------------------------------ */

CS_RESULT cs_merkle_ctx_init(struct cs_merkle_ctx *c)
{
    CS_ENSURE(c != NULL, CS_E_ARG);
    *c = (struct cs_merkle_ctx){ EVP_MD_fetch(NULL, "SHA256", NULL), EVP_MD_CTX_new(),
                                 EVP_MD_CTX_new() };
    if (c->md == NULL || c->fresh == NULL || c->work == NULL ||
        EVP_DigestInit_ex2(c->fresh, c->md, NULL) != 1) {
        cs_merkle_ctx_clear(c);
        CS_OSSL_ENSURE(false, CS_E_CRYPTO);
    }
    return CS_SUCCESS;
}

void cs_merkle_ctx_clear(struct cs_merkle_ctx *c)
{
    if (c == NULL) {
        return;
    }
    EVP_MD_CTX_free(c->work); /* all three accept NULL */
    EVP_MD_CTX_free(c->fresh);
    EVP_MD_free(c->md);
    *c = (struct cs_merkle_ctx){ 0 };
}

static void merkle_ctx_clearp(struct cs_merkle_ctx *c)
{
    cs_merkle_ctx_clear(c);
}

/* SHA-256(a || b) through c; b may be empty. */
static cs_res digest2(struct cs_merkle_ctx *c, const uint8_t *a, size_t a_len, const uint8_t *b,
                      size_t b_len, uint8_t out[H])
{
    CS_ENSURE(c != NULL && c->work != NULL && out != NULL, CS_E_ARG);
    unsigned int n = 0;
    CS_OSSL_ENSURE(EVP_MD_CTX_copy_ex(c->work, c->fresh) == 1 &&
                       EVP_DigestUpdate(c->work, a, a_len) == 1 &&
                       (b_len == 0 || EVP_DigestUpdate(c->work, b, b_len) == 1) &&
                       EVP_DigestFinal_ex(c->work, out, &n) == 1 && n == H,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

/*
 * Entries up to this size are copied behind the 0x00 prefix and hashed with one update
 * call instead of two (the copy costs less than the call).
 */
#define LEAF_COPY_MAX 256u

CS_RESULT cs_merkle_leaf_hash_ctx(struct cs_merkle_ctx *c, struct cs_cur entry, uint8_t out[H])
{
    CS_ENSURE(entry.p != NULL || entry.left == 0, CS_E_ARG);
    if (entry.left <= LEAF_COPY_MAX) {
        uint8_t buf[1 + LEAF_COPY_MAX];
        buf[0] = 0x00;
        if (entry.left > 0) {
            memcpy(buf + 1, entry.p, entry.left);
        }
        return digest2(c, buf, 1 + entry.left, NULL, 0, out);
    }
    static const uint8_t prefix = 0x00;
    return digest2(c, &prefix, 1, entry.p, entry.left, out);
}

CS_RESULT cs_merkle_node_hash_ctx(struct cs_merkle_ctx *c, const uint8_t left[H],
                                  const uint8_t right[H], uint8_t out[H])
{
    CS_ENSURE(left != NULL && right != NULL, CS_E_ARG);
    uint8_t buf[1 + 2 * H];
    buf[0] = 0x01;
    memcpy(buf + 1, left, H);
    memcpy(buf + 1 + H, right, H);
    return digest2(c, buf, sizeof buf, NULL, 0, out);
}

CS_RESULT cs_merkle_leaf_hashes(const struct cs_cur *entries, size_t n, uint8_t *out)
{
    CS_ENSURE((entries != NULL && out != NULL) || n == 0, CS_E_ARG);
    if (n == 0) {
        return CS_SUCCESS;
    }
    CS_AUTO(merkle_ctx_clearp) struct cs_merkle_ctx c = { 0 };
    CS_TRY(cs_merkle_ctx_init(&c));
    for (size_t i = 0; i < n; i++) {
        CS_TRY(cs_merkle_leaf_hash_ctx(&c, entries[i], out + i * H));
    }
    return CS_SUCCESS;
}

CS_RESULT cs_merkle_root_ctx(struct cs_merkle_ctx *c, const uint8_t *leaves, uint64_t n,
                             uint8_t out[CS_MERKLE_HASH_LEN])
{
    CS_ENSURE(c != NULL && out != NULL && (leaves != NULL || n == 0), CS_E_ARG);
    if (n == 0) {
        return cs_merkle_empty_root(out);
    }
    /*
     * stack[k] holds the root of a perfect subtree of 2^level[k] leaves; after leaf i the
     * stack mirrors the binary representation of i + 1 (largest subtree first).
     */
    uint8_t stack[CS_MERKLE_PROOF_MAX + 1][CS_MERKLE_HASH_LEN];
    size_t depth = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(stack[depth++], leaves + i * CS_MERKLE_HASH_LEN, CS_MERKLE_HASH_LEN);
        for (uint64_t j = i + 1; (j & 1) == 0; j >>= 1) {
            CS_TRY(cs_merkle_node_hash_ctx(c, stack[depth - 2], stack[depth - 1],
                                           stack[depth - 2]));
            depth--;
        }
    }
    /* fold the remaining (right-most, smaller) subtrees from right to left */
    while (depth > 1) {
        CS_TRY(cs_merkle_node_hash_ctx(c, stack[depth - 2], stack[depth - 1], stack[depth - 2]));
        depth--;
    }
    memcpy(out, stack[0], CS_MERKLE_HASH_LEN);
    return CS_SUCCESS;
}

CS_RESULT cs_merkle_root(const uint8_t *leaves, uint64_t n,
                         uint8_t out[CS_MERKLE_HASH_LEN])
{
    CS_ENSURE(out != NULL && (leaves != NULL || n == 0), CS_E_ARG);
    if (n == 0) {
        return cs_merkle_empty_root(out);
    }
    CS_AUTO(merkle_ctx_clearp) struct cs_merkle_ctx c = { 0 };
    CS_TRY(cs_merkle_ctx_init(&c));
    return cs_merkle_root_ctx(&c, leaves, n, out);
}

CS_RESULT cs_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                     const uint8_t leaf_hash[CS_MERKLE_HASH_LEN],
                                     const uint8_t *proof, size_t n_proof,
                                     const uint8_t root[CS_MERKLE_HASH_LEN])
{
    CS_ENSURE(leaf_hash != NULL && root != NULL && (proof != NULL || n_proof == 0), CS_E_ARG);
    CS_ENSURE(index < size, CS_E_ARG);
    CS_ENSURE(n_proof <= CS_MERKLE_PROOF_MAX, CS_E_SIGNATURE);
    uint64_t fn = index;
    uint64_t sn = size - 1;
    CS_AUTO(merkle_ctx_clearp) struct cs_merkle_ctx c = { 0 };
    CS_TRY(cs_merkle_ctx_init(&c));
    uint8_t r[CS_MERKLE_HASH_LEN];
    memcpy(r, leaf_hash, sizeof r);
    for (size_t i = 0; i < n_proof; i++) {
        CS_ENSURE(sn != 0, CS_E_SIGNATURE); /* proof longer than the path */
        if ((fn & 1) != 0 || fn == sn) {
            CS_TRY(cs_merkle_node_hash_ctx(&c, proof + i * CS_MERKLE_HASH_LEN, r, r));
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            CS_TRY(cs_merkle_node_hash_ctx(&c, r, proof + i * CS_MERKLE_HASH_LEN, r));
        }
        fn >>= 1;
        sn >>= 1;
    }
    CS_ENSURE(sn == 0, CS_E_SIGNATURE); /* proof shorter than the path */
    CS_ENSURE(CRYPTO_memcmp(r, root, sizeof r) == 0, CS_E_SIGNATURE);
    return CS_SUCCESS;
}

CS_RESULT cs_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                       const uint8_t old_root[CS_MERKLE_HASH_LEN],
                                       const uint8_t new_root[CS_MERKLE_HASH_LEN],
                                       const uint8_t *proof,
                                       size_t n_proof)
{
    CS_ENSURE(old_root != NULL && new_root != NULL && (proof != NULL || n_proof == 0), CS_E_ARG);
    CS_ENSURE(old_size > 0 && old_size <= new_size, CS_E_ARG);
    if (old_size == new_size) {
        CS_ENSURE(n_proof == 0, CS_E_SIGNATURE);
        CS_ENSURE(CRYPTO_memcmp(old_root, new_root, CS_MERKLE_HASH_LEN) == 0, CS_E_SIGNATURE);
        return CS_SUCCESS;
    }
    CS_ENSURE(n_proof > 0 && n_proof <= CS_MERKLE_PROOF_MAX, CS_E_SIGNATURE);
    /* RFC 9162 2.1.4.2 step 2: a power-of-two old tree is itself the first node */
    const uint8_t *first = proof;
    size_t next = 1;
    if ((old_size & (old_size - 1)) == 0) {
        first = old_root;
        next = 0;
    }
    uint64_t fn = old_size - 1;
    uint64_t sn = new_size - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    CS_AUTO(merkle_ctx_clearp) struct cs_merkle_ctx c = { 0 };
    CS_TRY(cs_merkle_ctx_init(&c));
    uint8_t fr[CS_MERKLE_HASH_LEN];
    uint8_t sr[CS_MERKLE_HASH_LEN];
    memcpy(fr, first, sizeof fr);
    memcpy(sr, first, sizeof sr);
    for (size_t i = next; i < n_proof; i++) {
        CS_ENSURE(sn != 0, CS_E_SIGNATURE);
        if ((fn & 1) != 0 || fn == sn) {
            CS_TRY(cs_merkle_node_hash_ctx(&c, proof + i * CS_MERKLE_HASH_LEN, fr, fr));
            CS_TRY(cs_merkle_node_hash_ctx(&c, proof + i * CS_MERKLE_HASH_LEN, sr, sr));
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            CS_TRY(cs_merkle_node_hash_ctx(&c, sr, proof + i * CS_MERKLE_HASH_LEN, sr));
        }
        fn >>= 1;
        sn >>= 1;
    }
    CS_ENSURE(sn == 0, CS_E_SIGNATURE);
    CS_ENSURE(CRYPTO_memcmp(fr, old_root, sizeof fr) == 0, CS_E_SIGNATURE);
    CS_ENSURE(CRYPTO_memcmp(sr, new_root, sizeof sr) == 0, CS_E_SIGNATURE);
    return CS_SUCCESS;
}
