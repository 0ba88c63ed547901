/* SPDX-License-Identifier: Apache-2.0 */
/* C2SP signed notes and checkpoints (see note.h). */
#include "tlog/note.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/cs_b64.h"
#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_eddsa.h"
#include "crypto/cs_ossl.h"
#include "tlog/merkle.h"

static const uint8_t EM_DASH_SP[4] = { 0xe2, 0x80, 0x94, 0x20 }; /* "— " */

/* Decodes one UTF-8 code point (RFC 3629: shortest form, no surrogates, <= U+10FFFF). */
static bool utf8_next(struct cs_cur *c, uint32_t *cp)
{
    uint8_t b0 = c->p[0];
    size_t n = b0 < 0x80 ? 1 : (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3
                                                     : (b0 & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || n > c->left) {
        return false;
    }
    uint32_t v = n == 1 ? b0 : n == 2 ? b0 & 0x1fu : n == 3 ? b0 & 0x0fu : b0 & 0x07u;
    for (size_t i = 1; i < n; i++) {
        if ((c->p[i] & 0xc0) != 0x80) {
            return false;
        }
        v = (v << 6) | (c->p[i] & 0x3fu);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return false;
    }
    *cp = v;
    c->p += n;
    c->left -= n;
    return true;
}

/* Go's unicode.IsSpace. */
static bool is_space(uint32_t r)
{
    return (r >= 0x09 && r <= 0x0d) || r == 0x20 || r == 0x85 || r == 0xa0 || r == 0x1680 ||
           (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f ||
           r == 0x205f || r == 0x3000;
}

static bool valid_key_name(struct cs_cur name)
{
    if (name.left == 0 || name.left > CS_NOTE_NAME_MAX) {
        return false;
    }
    struct cs_cur c = name;
    while (c.left > 0) {
        uint32_t r = 0;
        if (!utf8_next(&c, &r) || is_space(r) || r == '+') {
            return false;
        }
    }
    return true;
}

/* Index of the last "\n\n" in c, or SIZE_MAX. */
static size_t last_blank_line(struct cs_cur c)
{
    for (size_t i = c.left; i >= 2; i--) {
        if (c.p[i - 1] == '\n' && c.p[i - 2] == '\n') {
            return i - 2;
        }
    }
    return SIZE_MAX;
}

static cs_res sig_line_parse(struct cs_cur line, struct cs_note_sig *s)
{
    CS_ENSURE(line.left > sizeof EM_DASH_SP &&
                  memcmp(line.p, EM_DASH_SP, sizeof EM_DASH_SP) == 0,
              CS_E_FORMAT);
    CS_TRY(cs_cur_skip(&line, sizeof EM_DASH_SP));
    size_t sp = 0;
    CS_TRY(cs_cur_find(line, " ", 1, &sp));
    CS_TRY(cs_cur_view(&line, sp, &s->name));
    CS_TRY(cs_cur_skip(&line, 1));
    CS_ENSURE(valid_key_name(s->name), CS_E_FORMAT);
    CS_ENSURE(line.left <= CS_NOTE_SIG_B64_MAX, CS_E_TOO_LARGE);
    uint8_t raw[CS_B64_DECODED_MAX(CS_NOTE_SIG_B64_MAX)];
    size_t n = 0;
    CS_TRY(cs_b64_decode((const char *)line.p, line.left, false, raw, sizeof raw, &n));
    CS_ENSURE(n >= 5, CS_E_FORMAT);
    s->key_id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    s->b64 = line;
    return CS_SUCCESS;
}

CS_RESULT cs_note_parse(const uint8_t *buf, size_t len, struct cs_note *out)
{
    CS_ENSURE(out != NULL && (buf != NULL || len == 0), CS_E_ARG);
    out->n_sigs = 0;
    out->text = cs_cur_of(NULL, 0);
    CS_ENSURE(len <= CS_NOTE_MAX, CS_E_TOO_LARGE);
    struct cs_cur all = cs_cur_of(buf, len);
    for (struct cs_cur c = all; c.left > 0;) {
        uint32_t r = 0;
        CS_ENSURE(utf8_next(&c, &r), CS_E_FORMAT);
        CS_ENSURE(r >= 0x20 || r == '\n', CS_E_FORMAT);
    }
    CS_ENSURE(len > 0 && buf[len - 1] == '\n', CS_E_FORMAT);
    size_t split = last_blank_line(all);
    CS_ENSURE(split != SIZE_MAX, CS_E_FORMAT);
    out->text = (struct cs_cur){ buf, split + 1 };
    struct cs_cur sigs = { buf + split + 2, len - split - 2 };
    CS_ENSURE(sigs.left > 0, CS_E_FORMAT);
    while (sigs.left > 0) {
        CS_ENSURE(out->n_sigs < CS_NOTE_SIGS_MAX, CS_E_FORMAT);
        size_t nl = 0;
        CS_TRY(cs_cur_find(sigs, "\n", 1, &nl));
        struct cs_cur line;
        CS_TRY(cs_cur_view(&sigs, nl, &line));
        CS_TRY(cs_cur_skip(&sigs, 1));
        CS_TRY(sig_line_parse(line, &out->sigs[out->n_sigs]));
        out->n_sigs++;
    }
    return CS_SUCCESS;
}

static cs_res key_id_of(struct cs_cur name, uint8_t alg, const uint8_t pub[32], uint32_t *id)
{
    uint8_t buf[CS_NOTE_NAME_MAX + 2 + 32];
    CS_ENSURE(name.left <= CS_NOTE_NAME_MAX, CS_E_FORMAT);
    memcpy(buf, name.p, name.left);
    buf[name.left] = '\n';
    buf[name.left + 1] = alg;
    memcpy(buf + name.left + 2, pub, 32);
    uint8_t h[32];
    CS_TRY(cs_sha256(cs_cur_of(buf, name.left + 2 + 32), h));
    *id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return CS_SUCCESS;
}

CS_RESULT cs_note_vkey_parse(struct cs_cur text, struct cs_note_vkey *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    size_t p1 = 0;
    CS_TRY(cs_cur_find(text, "+", 1, &p1));
    struct cs_cur name;
    CS_TRY(cs_cur_view(&text, p1, &name));
    CS_TRY(cs_cur_skip(&text, 1));
    CS_ENSURE(valid_key_name(name), CS_E_FORMAT);
    struct cs_cur hex;
    CS_ENSURE(text.left > 9 && text.p[8] == '+', CS_E_FORMAT);
    CS_TRY(cs_cur_view(&text, 8, &hex));
    CS_TRY(cs_cur_skip(&text, 1));
    uint8_t id[4];
    CS_TRY(cs_hex_decode((const char *)hex.p, hex.left, id, sizeof id));
    uint8_t raw[64];
    size_t n = 0;
    cs_res r = cs_b64_decode((const char *)text.p, text.left, false, raw, sizeof raw, &n);
    CS_ENSURE(cs_ok(r) || r.code == CS_E_TOO_LARGE, CS_E_FORMAT);
    CS_ENSURE(cs_ok(r) && n >= 1, CS_E_UNSUPPORTED); /* longer keys: other algorithms */
    CS_ENSURE(raw[0] == CS_NOTE_ALG_ED25519 || raw[0] == CS_NOTE_ALG_COSIG_V1, CS_E_UNSUPPORTED);
    CS_ENSURE(n == 33, CS_E_FORMAT);
    out->alg = raw[0];
    memcpy(out->pub, raw + 1, 32);
    memcpy(out->name, name.p, name.left);
    out->name_len = name.left;
    out->key_id = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    uint32_t want = 0;
    CS_TRY(key_id_of(name, out->alg, out->pub, &want));
    CS_ENSURE(want == out->key_id, CS_E_FORMAT);
    return CS_SUCCESS;
}

/* Verifies one signature line with its (matching) key. */
static cs_res sig_verify(const struct cs_note *note, const struct cs_note_sig *s,
                         const struct cs_note_vkey *k, uint64_t *time)
{
    uint8_t raw[4 + 8 + 64];
    size_t n = 0;
    cs_res r = cs_b64_decode((const char *)s->b64.p, s->b64.left, false, raw, sizeof raw, &n);
    CS_ENSURE(cs_ok(r), CS_E_SIGNATURE);
    if (k->alg == CS_NOTE_ALG_ED25519) {
        CS_ENSURE(n == 4 + 64, CS_E_SIGNATURE);
        return cs_ed25519_verify(k->pub, raw + 4, cs_cur_of(NULL, 0), note->text);
    }
    /* tlog-cosignature v1: key id || u64 big-endian time || Ed25519 over
     * "cosignature/v1\ntime <time>\n" || checkpoint text */
    CS_ENSURE(n == 4 + 8 + 64, CS_E_SIGNATURE);
    uint64_t t = 0;
    for (size_t i = 4; i < 12; i++) {
        t = t << 8 | raw[i];
    }
    char prefix[64];
    int pl = snprintf(prefix, sizeof prefix, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
    CS_ENSURE(pl > 0 && (size_t)pl < sizeof prefix, CS_E_INTERNAL);
    CS_TRY(cs_ed25519_verify(k->pub, raw + 12, cs_cur_of((const uint8_t *)prefix, (size_t)pl),
                             note->text));
    *time = t;
    return CS_SUCCESS;
}

CS_RESULT cs_note_verify(const struct cs_note *note, const struct cs_note_vkey *keys,
                         size_t n_keys, bool *key_ok, uint64_t *cosig_time)
{
    CS_ENSURE(note != NULL && (keys != NULL || n_keys == 0), CS_E_ARG);
    for (size_t k = 0; k < n_keys && key_ok != NULL; k++) {
        key_ok[k] = false;
    }
    size_t n_verified = 0;
    for (size_t i = 0; i < note->n_sigs; i++) {
        const struct cs_note_sig *s = &note->sigs[i];
        for (size_t k = 0; k < n_keys; k++) {
            const struct cs_note_vkey *key = &keys[k];
            if (key->key_id != s->key_id || key->name_len != s->name.left ||
                memcmp(key->name, s->name.p, s->name.left) != 0) {
                continue;
            }
            uint64_t t = 0;
            CS_TRY(sig_verify(note, s, key, &t)); /* a known key that fails: reject */
            n_verified++;
            if (key_ok != NULL) {
                key_ok[k] = true;
            }
            if (cosig_time != NULL) {
                cosig_time[k] = t;
            }
        }
    }
    CS_ENSURE(n_verified > 0, CS_E_SIGNATURE);
    return CS_SUCCESS;
}

/* Next LF-terminated line without its LF; CS_E_FORMAT when there is no LF. */
static cs_res next_line(struct cs_cur *c, struct cs_cur *line)
{
    size_t nl = 0;
    CS_TRY(cs_cur_find(*c, "\n", 1, &nl));
    CS_TRY(cs_cur_view(c, nl, line));
    return cs_cur_skip(c, 1);
}

CS_RESULT cs_checkpoint_parse(struct cs_cur text, struct cs_checkpoint *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    struct cs_cur c = text;
    struct cs_cur size_line;
    struct cs_cur root_line;
    CS_TRY(next_line(&c, &out->origin));
    CS_ENSURE(out->origin.left > 0, CS_E_FORMAT);
    CS_TRY(next_line(&c, &size_line));
    CS_ENSURE(size_line.left > 0 && size_line.left <= 20, CS_E_FORMAT);
    CS_ENSURE(size_line.p[0] != '0' || size_line.left == 1, CS_E_FORMAT); /* no leading 0 */
    uint64_t size = 0;
    for (size_t i = 0; i < size_line.left; i++) {
        uint8_t d = size_line.p[i];
        CS_ENSURE(d >= '0' && d <= '9', CS_E_FORMAT);
        CS_ENSURE(size <= (UINT64_MAX - (d - '0')) / 10, CS_E_FORMAT); /* fits in uint64 */
        size = size * 10 + (d - '0');
    }
    out->size = size;
    CS_TRY(next_line(&c, &root_line));
    size_t n = 0;
    CS_TRY(cs_b64_decode((const char *)root_line.p, root_line.left, true, out->root,
                         sizeof out->root, &n));
    CS_ENSURE(n == 32, CS_E_FORMAT);
    while (c.left > 0) {
        struct cs_cur ext;
        CS_TRY(next_line(&c, &ext));
        CS_ENSURE(ext.left > 0, CS_E_FORMAT);
        out->n_extensions++;
    }
    if (size == 0) {
        uint8_t empty[32];
        CS_TRY(cs_merkle_empty_root(empty));
        CS_ENSURE(CRYPTO_memcmp(empty, out->root, 32) == 0, CS_E_FORMAT);
    }
    return CS_SUCCESS;
}

void cs_note_signer_clear(struct cs_note_signer *s)
{
    if (s != NULL) {
        EVP_PKEY_free(s->key);
        s->key = NULL;
    }
}

static cs_res signer_fill(struct cs_cur name, const uint8_t seed[32], struct cs_note_signer *out)
{
    CS_ENSURE(valid_key_name(name), CS_E_FORMAT);
    memcpy(out->name, name.p, name.left);
    out->name[name.left] = '\0';
    out->name_len = name.left;
    CS_TRY(cs_ed25519_from_seed(seed, &out->key));
    uint8_t pub[32];
    CS_TRY(cs_ed25519_public(out->key, pub));
    return key_id_of(name, CS_NOTE_ALG_ED25519, pub, &out->key_id);
}

CS_RESULT cs_note_signer_parse(struct cs_cur skey, struct cs_note_signer *out)
{
    static const char prefix[] = "PRIVATE+KEY+";
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    CS_ENSURE(skey.left > sizeof prefix - 1 && memcmp(skey.p, prefix, sizeof prefix - 1) == 0,
              CS_E_FORMAT);
    CS_TRY(cs_cur_skip(&skey, sizeof prefix - 1));
    size_t p1 = 0;
    CS_TRY(cs_cur_find(skey, "+", 1, &p1));
    struct cs_cur name;
    CS_TRY(cs_cur_view(&skey, p1, &name));
    CS_TRY(cs_cur_skip(&skey, 1));
    CS_ENSURE(skey.left > 9 && skey.p[8] == '+', CS_E_FORMAT);
    uint8_t id[4];
    CS_TRY(cs_hex_decode((const char *)skey.p, 8, id, sizeof id));
    CS_TRY(cs_cur_skip(&skey, 9));
    uint8_t raw[33];
    size_t n = 0;
    cs_res r = cs_b64_decode((const char *)skey.p, skey.left, false, raw, sizeof raw, &n);
    if (cs_ok(r) && (n != 33 || raw[0] != CS_NOTE_ALG_ED25519)) {
        r = (cs_res){ .code = CS_E_UNSUPPORTED, .line = __LINE__, .file = __FILE__ };
    }
    if (cs_ok(r)) {
        r = signer_fill(name, raw + 1, out);
    }
    cs_wipe(raw, sizeof raw);
    uint32_t want = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
    if (cs_ok(r) && want != out->key_id) {
        r = (cs_res){ .code = CS_E_FORMAT, .line = __LINE__, .file = __FILE__ };
    }
    if (!cs_ok(r)) {
        cs_note_signer_clear(out);
    }
    return r;
}

CS_RESULT cs_note_signer_vkey(const struct cs_note_signer *s, char *out, size_t cap)
{
    CS_ENSURE(s != NULL && s->key != NULL && out != NULL, CS_E_ARG);
    uint8_t raw[33];
    raw[0] = CS_NOTE_ALG_ED25519;
    CS_TRY(cs_ed25519_public(s->key, raw + 1));
    char b64[48];
    CS_TRY(cs_b64_encode(raw, sizeof raw, b64, sizeof b64));
    int n = snprintf(out, cap, "%s+%08x+%s", s->name, (unsigned)s->key_id, b64);
    CS_ENSURE(n > 0 && (size_t)n < cap, CS_E_TOO_LARGE);
    return CS_SUCCESS;
}

CS_RESULT cs_note_keygen(const char *name, char skey[CS_NOTE_SKEY_MAX],
                         char vkey[CS_NOTE_VKEY_MAX])
{
    CS_ENSURE(name != NULL && skey != NULL && vkey != NULL, CS_E_ARG);
    uint8_t raw[33];
    raw[0] = CS_NOTE_ALG_ED25519;
    CS_TRY(cs_random(raw + 1, 32));
    struct cs_note_signer s = { 0 };
    cs_res r = signer_fill(cs_cur_of((const uint8_t *)name, strlen(name)), raw + 1, &s);
    char b64[48] = { 0 };
    if (cs_ok(r)) {
        r = cs_b64_encode(raw, sizeof raw, b64, sizeof b64);
    }
    cs_wipe(raw, sizeof raw);
    if (cs_ok(r)) {
        int n = snprintf(skey, CS_NOTE_SKEY_MAX, "PRIVATE+KEY+%s+%08x+%s", s.name,
                         (unsigned)s.key_id, b64);
        if (n <= 0 || n >= (int)CS_NOTE_SKEY_MAX) {
            r = (cs_res){ .code = CS_E_TOO_LARGE, .line = __LINE__, .file = __FILE__ };
        }
    }
    cs_wipe(b64, sizeof b64);
    if (cs_ok(r)) {
        r = cs_note_signer_vkey(&s, vkey, CS_NOTE_VKEY_MAX);
    }
    cs_note_signer_clear(&s);
    return r;
}

CS_RESULT cs_note_sign(const struct cs_note_signer *s, struct cs_cur text, char *out, size_t cap,
                       size_t *len)
{
    CS_ENSURE(s != NULL && s->key != NULL && out != NULL && len != NULL, CS_E_ARG);
    CS_ENSURE(text.left > 0 && text.p[text.left - 1] == '\n', CS_E_FORMAT);
    uint8_t raw[4 + CS_ED25519_SIG_LEN];
    raw[0] = (uint8_t)(s->key_id >> 24);
    raw[1] = (uint8_t)(s->key_id >> 16);
    raw[2] = (uint8_t)(s->key_id >> 8);
    raw[3] = (uint8_t)s->key_id;
    CS_TRY(cs_ed25519_sign(s->key, text, raw + 4));
    char b64[100];
    CS_TRY(cs_b64_encode(raw, sizeof raw, b64, sizeof b64));
    int n = snprintf(out, cap, "%.*s\n\xe2\x80\x94 %s %s\n", (int)text.left,
                     (const char *)text.p, s->name, b64);
    CS_ENSURE(n > 0 && (size_t)n < cap && text.left < INT32_MAX, CS_E_TOO_LARGE);
    *len = (size_t)n;
    return CS_SUCCESS;
}

CS_RESULT cs_checkpoint_open(const uint8_t *buf, size_t len,
                             const struct cs_checkpoint_policy *policy, struct cs_note *note,
                             struct cs_checkpoint *cp, size_t *n_witnessed)
{
    CS_ENSURE(policy != NULL && note != NULL && cp != NULL && n_witnessed != NULL, CS_E_ARG);
    CS_ENSURE(policy->n_log_keys > 0 && policy->n_log_keys <= CS_POLICY_KEYS_MAX &&
                  policy->n_witnesses <= CS_POLICY_KEYS_MAX,
              CS_E_ARG);
    CS_ENSURE(policy->quorum <= policy->n_witnesses, CS_E_ARG);
    struct cs_note_vkey keys[2 * CS_POLICY_KEYS_MAX];
    bool ok[2 * CS_POLICY_KEYS_MAX] = { false };
    size_t n = 0;
    for (size_t i = 0; i < policy->n_log_keys; i++) {
        keys[n++] = policy->log_keys[i];
    }
    for (size_t i = 0; i < policy->n_witnesses; i++) {
        keys[n++] = policy->witnesses[i];
    }
    CS_TRY(cs_note_parse(buf, len, note));
    CS_TRY(cs_note_verify(note, keys, n, ok, NULL));
    bool is_logged = false;
    for (size_t i = 0; i < policy->n_log_keys; i++) {
        is_logged |= ok[i];
    }
    CS_ENSURE(is_logged, CS_E_SIGNATURE); /* witnesses alone do not make a checkpoint */
    /* distinct witnesses: the same key listed twice counts once */
    size_t w = 0;
    for (size_t i = 0; i < policy->n_witnesses; i++) {
        bool is_dup = false;
        for (size_t j = 0; j < i && !is_dup; j++) {
            is_dup = memcmp(policy->witnesses[j].pub, policy->witnesses[i].pub, 32) == 0;
        }
        w += ok[policy->n_log_keys + i] && !is_dup;
    }
    *n_witnessed = w;
    CS_ENSURE(w >= policy->quorum, CS_E_SIGNATURE);
    CS_TRY(cs_checkpoint_parse(note->text, cp));
    if (policy->origin != NULL) {
        size_t ol = strlen(policy->origin);
        CS_ENSURE(cp->origin.left == ol && memcmp(cp->origin.p, policy->origin, ol) == 0,
                  CS_E_BINDING);
    }
    return CS_SUCCESS;
}
