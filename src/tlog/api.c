/* SPDX-License-Identifier: Apache-2.0 */
/* The public audit-log checks of include/custos/tlog.h, over src/tlog. */
#include "custos/tlog.h"

#include <string.h>

#include "core/cs_b64.h"
#include "core/cs_mem.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

CS_RESULT custos_tlog_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[CUSTOS_HASH_LEN])
{
    CS_ENSURE((entry != NULL || len == 0) && out != NULL, CS_E_ARG);
    return cs_merkle_leaf_hash(cs_cur_of(entry, len), out);
}

CS_RESULT custos_tlog_verify_inclusion(uint64_t index, uint64_t size,
                                       const uint8_t leaf_hash[CUSTOS_HASH_LEN],
                                       const uint8_t *proof, size_t n,
                                       const uint8_t root[CUSTOS_HASH_LEN])
{
    return cs_merkle_verify_inclusion(index, size, leaf_hash, proof, n, root);
}

CS_RESULT custos_tlog_verify_consistency(uint64_t old_size, uint64_t new_size,
                                         const uint8_t old_root[CUSTOS_HASH_LEN],
                                         const uint8_t new_root[CUSTOS_HASH_LEN],
                                         const uint8_t *proof, size_t n)
{
    return cs_merkle_verify_consistency(old_size, new_size, old_root, new_root, proof, n);
}

static cs_res parse_keys(const char *const *texts, size_t n, struct cs_note_vkey *keys)
{
    CS_ENSURE(texts != NULL || n == 0, CS_E_ARG);
    for (size_t i = 0; i < n; i++) {
        CS_ENSURE(texts[i] != NULL, CS_E_ARG);
        cs_res r = cs_note_vkey_parse(cs_cur_of((const uint8_t *)texts[i], strlen(texts[i])),
                                      &keys[i]);
        CS_ENSURE(cs_ok(r), CS_E_ARG);
    }
    return CS_SUCCESS;
}

/* Keys are large (CS_NOTE_NAME_MAX names): kept on the heap. */
struct policy_keys {
    struct cs_note_vkey logs[CS_POLICY_KEYS_MAX];
    struct cs_note_vkey wits[CS_POLICY_KEYS_MAX];
    struct cs_note note;
};

static cs_res open_with(struct policy_keys *k, const uint8_t *note, size_t len,
                        const struct custos_tlog_policy *p, struct cs_checkpoint *cp,
                        struct custos_checkpoint *out)
{
    CS_ENSURE(p->n_log_vkeys <= CS_POLICY_KEYS_MAX && p->n_witness_vkeys <= CS_POLICY_KEYS_MAX,
              CS_E_ARG);
    CS_TRY(parse_keys(p->log_vkeys, p->n_log_vkeys, k->logs));
    CS_TRY(parse_keys(p->witness_vkeys, p->n_witness_vkeys, k->wits));
    struct cs_checkpoint_policy pol = { k->logs, p->n_log_vkeys, k->wits, p->n_witness_vkeys,
                                        p->quorum, p->origin };
    size_t n_wit = 0;
    CS_TRY(cs_checkpoint_open(note, len, &pol, &k->note, cp, &n_wit));
    out->size = cp->size;
    memcpy(out->root, cp->root, CUSTOS_HASH_LEN);
    out->n_witnessed = n_wit;
    return CS_SUCCESS;
}

CS_RESULT custos_tlog_checkpoint_open(const uint8_t *note, size_t len,
                                      const struct custos_tlog_policy *policy,
                                      struct custos_checkpoint *out)
{
    CS_ENSURE(policy != NULL && out != NULL, CS_E_ARG);
    CS_AUTO(cs_freep) struct policy_keys *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    struct cs_checkpoint cp;
    return open_with(k, note, len, policy, &cp, out);
}

/* c2sp.org/tlog-proof@v1: header, optional extra line, index, proof lines, blank, note. */
CS_RESULT custos_tlog_receipt_verify(const uint8_t *receipt, size_t len, const uint8_t *entry,
                                     size_t entry_len, const struct custos_tlog_policy *policy,
                                     uint64_t *index, struct custos_checkpoint *out)
{
    static const char magic[] = "c2sp.org/tlog-proof@v1\n";
    CS_ENSURE(policy != NULL && index != NULL && out != NULL && (entry != NULL || entry_len == 0),
              CS_E_ARG);
    CS_ENSURE(len <= CS_NOTE_MAX, CS_E_TOO_LARGE);
    struct cs_cur in = cs_cur_of(receipt, len);
    CS_ENSURE(in.left > sizeof magic - 1 && memcmp(in.p, magic, sizeof magic - 1) == 0,
              CS_E_FORMAT);
    CS_TRY(cs_cur_skip(&in, sizeof magic - 1));
    size_t nl = 0;
    CS_TRY(cs_cur_find(in, "\n", 1, &nl));
    if (nl > 6 && memcmp(in.p, "extra ", 6) == 0) { /* unauthenticated: skipped */
        CS_TRY(cs_cur_skip(&in, nl + 1));
        CS_TRY(cs_cur_find(in, "\n", 1, &nl));
    }
    CS_ENSURE(nl > 6 && nl <= 26 && memcmp(in.p, "index ", 6) == 0, CS_E_FORMAT);
    uint64_t idx = 0;
    for (size_t i = 6; i < nl; i++) {
        uint8_t d = in.p[i];
        CS_ENSURE(d >= '0' && d <= '9' && (i == 6 || in.p[6] != '0'), CS_E_FORMAT);
        CS_ENSURE(idx <= (UINT64_MAX - (d - '0')) / 10, CS_E_FORMAT);
        idx = idx * 10 + (d - '0');
    }
    CS_TRY(cs_cur_skip(&in, nl + 1));
    uint8_t proof[CS_MERKLE_PROOF_MAX * CS_MERKLE_HASH_LEN];
    size_t n = 0;
    for (;;) {
        CS_TRY(cs_cur_find(in, "\n", 1, &nl));
        if (nl == 0) {
            CS_TRY(cs_cur_skip(&in, 1));
            break;
        }
        CS_ENSURE(n < CS_MERKLE_PROOF_MAX, CS_E_FORMAT);
        size_t got = 0;
        CS_TRY(cs_b64_decode((const char *)in.p, nl, true, proof + n * CS_MERKLE_HASH_LEN,
                             CS_MERKLE_HASH_LEN, &got));
        CS_ENSURE(got == CS_MERKLE_HASH_LEN, CS_E_FORMAT);
        n++;
        CS_TRY(cs_cur_skip(&in, nl + 1));
    }
    CS_AUTO(cs_freep) struct policy_keys *k = NULL;
    CS_TRY(cs_alloc(1, sizeof *k, (void **)&k));
    struct cs_checkpoint cp;
    CS_TRY(open_with(k, in.p, in.left, policy, &cp, out));
    uint8_t leaf[CS_MERKLE_HASH_LEN];
    CS_TRY(cs_merkle_leaf_hash(cs_cur_of(entry, entry_len), leaf));
    CS_ENSURE(idx < cp.size, CS_E_SIGNATURE);
    CS_TRY(cs_merkle_verify_inclusion(idx, cp.size, leaf, proof, n, cp.root));
    *index = idx;
    return CS_SUCCESS;
}
