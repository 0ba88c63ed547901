/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AWS Nitro Enclaves attestation document: a COSE_Sign1 (RFC 9052 §4.2) whose payload
 * is the CBOR map of aws/aws-nitro-enclaves-nsm-api docs/attestation_process.md §2.2
 * (CDDL) with the checks of §3.2.2 (syntactical validation); and the COSE Sig_structure
 * (RFC 9052 §4.4) that its ES384 signature covers, encoded exactly.
 *
 * Pure: no allocation, no I/O, no OpenSSL. The parsed document holds views into the
 * caller's buffer. Nothing here is verified: the signature, the certificates and the
 * chain to the AWS root are src/verify/nitro_verify.c's job.
 */
#ifndef CS_EVIDENCE_NITRO_DOC_H
#define CS_EVIDENCE_NITRO_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

/* attestation_process.md §3.1: payload "bstr .size (1..16384)". */
#define CS_NITRO_PAYLOAD_MAX 16384u
/* The whole COSE_Sign1: tag, array head, protected header, {}, payload, signature. */
#define CS_NITRO_DOC_MAX (CS_NITRO_PAYLOAD_MAX + 256u)
/* RFC 9053 §2.1: an ES384 signature is r || s, 48 bytes each. */
#define CS_NITRO_SIG_LEN 96u
/* §2.2: "index = 0..31"; §3.2.2.2: 1 to 32 PCRs. */
#define CS_NITRO_PCR_MAX 32u
/* §2.2: "cert = bytes .size (1..1024)". */
#define CS_NITRO_CERT_MAX 1024u
/* §2.2 sets no bound on cabundle; real documents carry 4 (root + 3 intermediates). */
#define CS_NITRO_CABUNDLE_MAX 8u
/* §2.2: "user_data = bytes .size (0..1024)", also the type of public_key and nonce. */
#define CS_NITRO_USER_DATA_MAX 1024u
/* module_id has no bound in §2.2; real ones are "i-<17 hex>-enc<16 hex>", 39 characters. */
#define CS_NITRO_MODULE_ID_MAX 256u
/* Timestamps up to 9999-12-31T23:59:59.999Z, the last instant an RFC 3339 claim can name. */
#define CS_NITRO_TIMESTAMP_MAX 253402300799999ull
/* RFC 9052 §4.4 Sig_structure of our documents: array, context, protected, aad, payload. */
#define CS_NITRO_SIG_STRUCTURE_MAX (CS_NITRO_PAYLOAD_MAX + 32u)

/* One parsed document. borrows: the buffer given to cs_nitro_doc_parse */
struct cs_nitro_doc {
    bool is_tagged;              /* wrapped in tag 18 (COSE_Sign1) */
    struct cs_cur protected_hdr; /* content of the protected bstr: {1: -35} */
    struct cs_cur payload;       /* content of the payload bstr: the attestation document */
    struct cs_cur signature;     /* CS_NITRO_SIG_LEN bytes, r || s big-endian */

    struct cs_cur module_id; /* printable ASCII, 1..CS_NITRO_MODULE_ID_MAX bytes */
    uint64_t timestamp_ms;   /* milliseconds since the epoch, 1..CS_NITRO_TIMESTAMP_MAX */
    uint32_t pcr_present;    /* bit i set: pcrs[i] is in the document */
    size_t n_pcrs;
    struct cs_cur pcrs[CS_NITRO_PCR_MAX]; /* 32, 48 or 64 bytes each; empty when absent */
    struct cs_cur certificate;            /* DER, 1..CS_NITRO_CERT_MAX bytes */
    size_t n_cabundle;                    /* 1..CS_NITRO_CABUNDLE_MAX */
    struct cs_cur cabundle[CS_NITRO_CABUNDLE_MAX]; /* DER; [0] is the root, then down */
    bool has_public_key; /* false when absent or null; else a view (may be empty) */
    bool has_user_data;
    bool has_nonce;
    struct cs_cur public_key;
    struct cs_cur user_data;
    struct cs_cur nonce;
};

/*
 * Parses a COSE_Sign1 attestation document that must fill buf exactly.
 *
 * Envelope (RFC 9052 §4.2): optional tag 18, then an array of exactly four items:
 * protected header bstr decoding to exactly {1: -35} (alg ES384, RFC 9053 §2.1), an empty
 * unprotected map, the payload bstr, and a 96-byte signature bstr. Payload: a definite map
 * with text keys, each known field at most once; module_id, digest, timestamp, pcrs,
 * certificate and cabundle required; public_key, user_data and nonce optional (a bstr or
 * null). Lengths and counts are bounded by the CS_NITRO_* ceilings above.
 *
 * Codes: CS_E_TOO_LARGE (over a ceiling), CS_E_TRUNCATED, CS_E_TRAILING (anything after
 * the top-level item, or inside a bstr after the map it holds), CS_E_FORMAT (malformed
 * CBOR, indefinite lengths, wrong types or sizes, duplicate or missing fields),
 * CS_E_UNSUPPORTED (another tag, algorithm or digest, other header parameters, a detached
 * payload, unknown payload fields). Does NOT check that the CBOR uses the shortest
 * encodings (the signature covers the payload bytes as they are), that the certificates
 * are DER, nor anything that needs a key.
 */
CS_RESULT cs_nitro_doc_parse(const uint8_t *buf, size_t len, struct cs_nitro_doc *d);

/* The exact size of the Sig_structure of d (at most CS_NITRO_SIG_STRUCTURE_MAX). */
CS_RESULT cs_nitro_sig_structure_len(const struct cs_nitro_doc *d, size_t *len);

/*
 * Encodes the Sig_structure of d (RFC 9052 §4.4), the bytes the ES384 signature covers:
 * ["Signature1", protected (the bstr as received), external_aad h'', payload (as
 * received)], with the shortest heads (RFC 9052 §9 asks for deterministic encoding).
 * Writes *len bytes into out; CS_E_TOO_LARGE when cap is too small.
 */
CS_RESULT cs_nitro_sig_structure_encode(const struct cs_nitro_doc *d, uint8_t *out, size_t cap,
                                        size_t *len);

#endif
