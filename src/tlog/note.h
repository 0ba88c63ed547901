/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP signed-note (c2sp.org/signed-note, v1.0.0) and tlog-checkpoint (v1.0.0), with
 * Ed25519 note signatures (type 0x01) and Ed25519 timestamped cosignatures (type 0x04,
 * c2sp.org/tlog-cosignature v1). Key formats are those of Go's golang.org/x/mod/sumdb/note:
 * verifier keys `name+keyid+base64(type || pub)`.
 *
 * Parsing is pure (no allocation, no crypto): results are views into the caller's buffer.
 */
#ifndef CS_TLOG_NOTE_H
#define CS_TLOG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_NOTE_MAX (256u * 1024u)  /* whole note; post-quantum lines are ~5 KiB each */
#define CS_NOTE_SIGS_MAX 100        /* as x/mod: more signature lines is a malformed note */
#define CS_NOTE_SIG_B64_MAX 8192    /* one signature line's base64 */
#define CS_NOTE_NAME_MAX 256

#define CS_NOTE_ALG_ED25519 0x01
#define CS_NOTE_ALG_COSIG_V1 0x04

struct cs_note_sig {
    struct cs_cur name; /* key name, UTF-8, no spaces, no '+' */
    uint32_t key_id;    /* first 4 bytes of the decoded signature, big-endian */
    struct cs_cur b64;  /* the whole base64 signature (key id included) */
};

/* borrows: the note buffer */
struct cs_note {
    struct cs_cur text; /* the signed bytes: every text line with its final LF */
    size_t n_sigs;
    struct cs_note_sig sigs[CS_NOTE_SIGS_MAX];
};

/*
 * Parses a signed note: valid UTF-8, no control characters but LF, text and signature
 * block separated by the last blank line, each signature line "— name base64\n" with a
 * base64 payload of at least 5 bytes. CS_E_FORMAT, CS_E_TOO_LARGE. Signatures unchecked.
 */
CS_RESULT cs_note_parse(const uint8_t *buf, size_t len, struct cs_note *out);

struct cs_note_vkey {
    char name[CS_NOTE_NAME_MAX + 1];
    size_t name_len;
    uint32_t key_id;
    uint8_t alg; /* CS_NOTE_ALG_ED25519 or CS_NOTE_ALG_COSIG_V1 */
    uint8_t pub[32];
};

/*
 * Parses a verifier key "name+hexkeyid+base64(alg || pub)", splitting at the first two
 * '+' only, and checks that the key id is SHA-256(name || LF || alg || pub)[:4].
 * CS_E_UNSUPPORTED for algorithms other than 0x01 and 0x04.
 */
CS_RESULT cs_note_vkey_parse(struct cs_cur text, struct cs_note_vkey *out);

/*
 * Verifies the note's signatures against the given keys. A line is matched to a key by
 * name and key id; lines matching no key are ignored; every matching line must verify
 * (CS_E_SIGNATURE otherwise). key_ok (n_keys entries, may be NULL) receives whether each
 * key verified, and cosig_time (may be NULL) the timestamp of each key's cosignature.
 * Returns CS_E_SIGNATURE when no key verified.
 */
CS_RESULT cs_note_verify(const struct cs_note *note, const struct cs_note_vkey *keys,
                         size_t n_keys, bool *key_ok, uint64_t *cosig_time);

/*
 * A note signer: Go's x/mod signer key "PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)".
 * owns: key (the Ed25519 private key stays inside OpenSSL); clear with cs_note_signer_clear.
 */
struct cs_note_signer {
    char name[CS_NOTE_NAME_MAX + 1];
    size_t name_len;
    uint32_t key_id;
    struct evp_pkey_st *key;
};

#define CS_NOTE_SKEY_MAX (CS_NOTE_NAME_MAX + 80)
#define CS_NOTE_VKEY_MAX (CS_NOTE_NAME_MAX + 60)

/* Parses a signer key; the key id must match the derivation. The seed is wiped after use. */
CS_RESULT cs_note_signer_parse(struct cs_cur skey, struct cs_note_signer *out);
void cs_note_signer_clear(struct cs_note_signer *s);

/* The verifier key "name+hexkeyid+base64(0x01 || pub)" of a signer, NUL-terminated. */
CS_RESULT cs_note_signer_vkey(const struct cs_note_signer *s, char *out, size_t cap);

/*
 * Makes a fresh Ed25519 signer for name: writes its signer key (secret: the caller wipes
 * it) and verifier key, NUL-terminated. name must be a valid key name.
 */
CS_RESULT cs_note_keygen(const char *name, char skey[CS_NOTE_SKEY_MAX],
                         char vkey[CS_NOTE_VKEY_MAX]);

/*
 * Signs text (LF-terminated lines) and writes the note "text \n — name sig\n" into out
 * (cap bytes, NUL-terminated); *len is the note length.
 */
CS_RESULT cs_note_sign(const struct cs_note_signer *s, struct cs_cur text, char *out, size_t cap,
                       size_t *len);

/* A C2SP tlog-checkpoint body. borrows: the note buffer */
struct cs_checkpoint {
    struct cs_cur origin;
    uint64_t size;
    uint8_t root[32];
    size_t n_extensions; /* lines after the root hash, each non-empty */
};

/*
 * Parses a checkpoint text: origin (non-empty), decimal size without sign or leading
 * zeros, canonical padded base64 of a 32-byte root, optional non-empty extension lines.
 * A size-0 checkpoint must carry SHA-256(""). CS_E_FORMAT otherwise.
 */
CS_RESULT cs_checkpoint_parse(struct cs_cur text, struct cs_checkpoint *out);

/*
 * Who must have signed a checkpoint: at least one of the log's keys, and at least
 * `quorum` distinct witness keys (tlog-cosignature, or plain note signatures by witness
 * keys); optionally the origin line it must carry.
 */
struct cs_checkpoint_policy {
    const struct cs_note_vkey *log_keys;
    size_t n_log_keys;
    const struct cs_note_vkey *witnesses;
    size_t n_witnesses;
    size_t quorum;
    const char *origin; /* NULL: not checked */
};

#define CS_POLICY_KEYS_MAX 64

/*
 * Opens a signed checkpoint under a policy: note syntax, every known key's signature
 * (a failing one rejects), a log signature, the witness quorum, the checkpoint body and
 * the origin. On CS_OK *cp holds views into buf and *n_witnessed the witnesses that
 * verified. CS_E_SIGNATURE (signatures, quorum), CS_E_FORMAT, CS_E_BINDING (origin).
 */
CS_RESULT cs_checkpoint_open(const uint8_t *buf, size_t len,
                             const struct cs_checkpoint_policy *policy, struct cs_note *note,
                             struct cs_checkpoint *cp, size_t *n_witnessed);

#endif
