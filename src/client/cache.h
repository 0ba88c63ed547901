/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's local sealed cache (DESIGN.md 3.3, docs/cache.md): after a successful
 * rehydration from the broker, the client may write one file holding what it needs to
 * resume offline (credentials, state versions, the last checkpoint), sealed with
 * AES-256-GCM under a 32-byte cache key that only a key provider can produce again:
 *   - tpm2:   a fresh random key per save, sealed in the TPM under the owner-hierarchy
 *             SRK with a PolicyPCR policy; anti-rollback by a TPM NV counter;
 *   - broker: a 32-byte key the client fetched from the broker as a resource after
 *             attesting (no hardware counter: rollback is bounded by the offline age).
 *
 * File: magic "CSTC", version 1, provider id, NV counter value, provider key reference,
 * then nonce || ciphertext || tag of the JSON payload; the AAD is every header byte.
 *
 * Payload (a JSON object, checked on save and on open by cs_cache_payload_check):
 *   {"identity": str, "issued_at": int (unix s), "max_offline_s": int,
 *    "broker_url": str?, "credentials": {"<resource>": "<base64>"}?,
 *    "state": {"<object>": {"version": int, "ciphertext": "<base64>", "log_index": int}}?,
 *    "checkpoint": "<signed note>"?, "highest_versions": {"<object>": int}?}
 * Other members are refused (CS_E_FORMAT), so a typo cannot silently drop data.
 *
 * Thread safety: a provider is used by one thread at a time.
 */
#ifndef CS_CLIENT_CACHE_H
#define CS_CLIENT_CACHE_H

#include <jansson.h>
#include <stdint.h>

#include "core/cs_cur.h"
#include "core/cs_result.h"

#define CS_CACHE_MAGIC "CSTC"
#define CS_CACHE_VERSION 1
#define CS_CACHE_KEY_LEN 32
/* Ceiling of a whole cache file, of a provider key reference, and of the JSON payload. */
#define CS_CACHE_FILE_MAX (16u * 1024u * 1024u)
#define CS_CACHE_KEYREF_MAX 4096u
#define CS_CACHE_PAYLOAD_MAX (CS_CACHE_FILE_MAX - 1024u - CS_CACHE_KEYREF_MAX)
/* Ceiling of max_offline_s (one year) and of issued_at (year 2100), so sums cannot overflow. */
#define CS_CACHE_OFFLINE_MAX_S (366 * 24 * 3600)
#define CS_CACHE_TIME_MAX 4102444800
/* A file issued more than this far in the future of `now` is refused (CS_E_EXPIRED). */
#define CS_CACHE_SKEW_S 300
/* Default NV index of the tpm2 anti-rollback counter (owner range; "\x01cus"). */
#define CS_CACHE_TPM2_NV_DEFAULT 0x01637573u
/* Default PCR selection of the tpm2 provider (Secure Boot policy). */
#define CS_CACHE_TPM2_PCRS_DEFAULT "sha256:7"

enum cs_cache_provider_id {
    CS_CACHE_PROVIDER_TPM2 = 1,
    CS_CACHE_PROVIDER_BROKER = 2,
};

/* Heap object: made by cs_cache_provider_*, freed with cs_cache_provider_free. */
struct cs_cache_key_provider;

/*
 * The tpm2 provider. tcti: a TCTI configuration string as tpm2-tss takes it
 * ("device:/dev/tpmrm0", "swtpm:path=/run/swtpm.sock", "swtpm:host=127.0.0.1,port=2321");
 * NULL uses the tctildr default. pcrs: "<bank>:<n>[,<n>...]" with bank sha1, sha256 or
 * sha384 and n in 0..23 (NULL: CS_CACHE_TPM2_PCRS_DEFAULT). nv_index: the NV counter
 * (0: CS_CACHE_TPM2_NV_DEFAULT; must be in the owner range 0x01000000..0x017fffff); it is
 * defined with the owner hierarchy (empty owner auth) on the first save if missing.
 * Connects to the TPM now. Ownership: *out on CS_OK only. Codes: CS_E_ARG (bad pcrs or
 * nv_index), CS_E_IO (TPM unreachable), CS_E_NOMEM.
 */
CS_RESULT cs_cache_provider_tpm2(const char *tcti, const char *pcrs, uint32_t nv_index,
                                 struct cs_cache_key_provider **out);

/*
 * The broker provider: key is a 32-byte resource the client fetched after attesting
 * (copied, wiped on free). Gives no rollback protection beyond max_offline_s.
 */
CS_RESULT cs_cache_provider_broker(const uint8_t key[CS_CACHE_KEY_LEN],
                                   struct cs_cache_key_provider **out);

/* Wipes key material, closes the TPM connection, frees p. NULL is fine. */
void cs_cache_provider_free(struct cs_cache_key_provider *p);

/*
 * Seals payload (borrowed; must pass cs_cache_payload_check) and writes it to path
 * atomically (temporary file in the same directory, mode 0600, fsync, rename, fsync of
 * the directory). tpm2: increments the NV counter first, so every older file is refused
 * from then on, even if this write then fails. Codes: CS_E_FORMAT (payload), CS_E_ARG,
 * CS_E_TOO_LARGE, CS_E_IO, CS_E_CRYPTO, CS_E_NOMEM, the provider's codes.
 */
CS_RESULT cs_cache_save(struct cs_cache_key_provider *p, const char *path, const json_t *payload);

/*
 * Reads, authenticates and checks the cache at path; *payload is a new reference on CS_OK
 * only (NULL otherwise). Checks, in order, each with its own code:
 *   CS_E_NOT_FOUND  no file at path;
 *   CS_E_FORMAT / CS_E_TRUNCATED / CS_E_TRAILING / CS_E_TOO_LARGE / CS_E_UNSUPPORTED
 *                   malformed header (wrong magic, version, reserved byte, lengths);
 *   CS_E_BINDING    sealed by another provider kind, another broker key, another NV
 *                   index or PCR selection than p is configured with;
 *   CS_E_SIGNATURE  tampered: the TPM refuses to load the sealed key, or the AEAD tag
 *                   (over every header byte and the payload) does not verify;
 *   CS_E_TCB        the TPM refuses to unseal: the policy PCRs changed since the save;
 *   CS_E_CONFLICT   the file's counter is not the TPM NV counter's current value (an
 *                   older copy replayed), or the counter is missing;
 *   CS_E_FORMAT     the payload is not a valid cache payload;
 *   CS_E_BINDING    payload identity != expect_identity;
 *   CS_E_EXPIRED    issued_at + max_offline_s < now, or issued_at > now + CS_CACHE_SKEW_S.
 * System failures: CS_E_IO (TPM or file), CS_E_CRYPTO, CS_E_NOMEM, CS_E_ARG.
 */
CS_RESULT cs_cache_open(struct cs_cache_key_provider *p, const char *path, int64_t now,
                        const char *expect_identity, json_t **payload);

/* cs_cache_open over bytes already in memory (borrowed); same checks except NOT_FOUND. */
CS_RESULT cs_cache_open_mem(struct cs_cache_key_provider *p, struct cs_cur file, int64_t now,
                            const char *expect_identity, json_t **payload);

/* The parsed envelope; views borrow the file bytes. */
struct cs_cache_header {
    uint16_t version;
    uint8_t provider;     /* enum cs_cache_provider_id */
    uint64_t counter;     /* NV counter at write time (0 for the broker provider) */
    struct cs_cur keyref; /* provider-specific key reference */
    struct cs_cur aad;    /* every header byte: magic .. sealed length */
    struct cs_cur sealed; /* nonce || ciphertext || tag */
};

/*
 * Pure parser of the envelope (no crypto, no allocation). Codes: CS_E_TRUNCATED,
 * CS_E_TRAILING, CS_E_FORMAT (magic, reserved byte, unknown provider, sealed part shorter
 * than nonce + tag), CS_E_UNSUPPORTED (version), CS_E_TOO_LARGE (keyref or file ceiling).
 */
CS_RESULT cs_cache_parse(struct cs_cur file, struct cs_cache_header *h);

/* Checks the payload shape described above. CS_E_FORMAT with no detail on any mismatch. */
CS_RESULT cs_cache_payload_check(const json_t *payload);

#endif
