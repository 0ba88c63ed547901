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

#endif
