/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the KBS tee-pubkey (cs_tee_key_parse) on hostile JSON bytes, and, when it
 * parses, a JWE of a fixed plaintext to it (cs_jwe_encrypt). Corpus: corpus/tee_jwk/.
 *
 * Invariants: hostile input is refused with an input code only, and nothing is returned
 * on failure; an accepted key has one of the two algorithms, agrees with the "alg" it was
 * given, and has a 43-character thumbprint that does not depend on kid; the JWE to it is
 * flattened JSON with exactly its five string members, whose protected header names the
 * key's alg and A256GCM.
 */
#include <jansson.h>
#include <string.h>

#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_jose.h"
#include "fuzz_target.h"

static const uint8_t secret[] = "custos fuzz secret";

static void check_jwe(const struct cs_tee_key *k)
{
    char *jwe = NULL;
    cs_res r = cs_jwe_encrypt(k, NULL, secret, sizeof secret - 1, &jwe);
    FUZZ_CHECK(cs_ok(r) && jwe != NULL);
    FUZZ_CHECK(strncmp(jwe, "{\"protected\":\"", 14) == 0);
    json_t *obj = NULL;
    FUZZ_CHECK(cs_ok(cs_json_load(cs_cur_of((const uint8_t *)jwe, strlen(jwe)), CS_JWE_MAX,
                                  &obj)));
    FUZZ_CHECK(json_object_size(obj) == 5);
    static const char *const members[] = { "protected", "encrypted_key", "iv", "ciphertext",
                                           "tag" };
    for (size_t i = 0; i < 5; i++) {
        FUZZ_CHECK(json_is_string(json_object_get(obj, members[i])));
    }
    json_decref(obj);
    cs_free(jwe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *jwk = NULL;
    cs_res r = cs_json_load(cs_cur_of(data, size), CS_TEE_JWK_MAX, &jwk);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code) && jwk == NULL);
        return 0;
    }
    struct cs_tee_key *k = NULL;
    r = cs_tee_key_parse(jwk, &k);
    if (!cs_ok(r)) {
        FUZZ_CHECK(fuzz_is_input_verdict(r.code) && k == NULL);
        json_decref(jwk);
        return 0;
    }
    const char *alg = cs_tee_key_alg(k);
    FUZZ_CHECK(strcmp(alg, CS_JWE_ALG_ECDH_ES) == 0 || strcmp(alg, CS_JWE_ALG_RSA_OAEP) == 0);
    const char *given = json_string_value(json_object_get(jwk, "alg"));
    FUZZ_CHECK(given == NULL || strcmp(given, alg) == 0);
    uint8_t thp[CS_JWK_THUMBPRINT_LEN];
    char b64[CS_JWK_THUMBPRINT_B64_LEN];
    FUZZ_CHECK(cs_ok(cs_tee_key_thumbprint(k, thp, b64)) && strlen(b64) == 43);
    /* the same key under another kid: same thumbprint (RFC 7638 uses required members) */
    json_t *renamed = json_deep_copy(jwk);
    FUZZ_CHECK(renamed != NULL);
    json_object_set_new(renamed, "kid", json_string("fuzz"));
    struct cs_tee_key *k2 = NULL;
    FUZZ_CHECK(cs_ok(cs_tee_key_parse(renamed, &k2)));
    char b64_2[CS_JWK_THUMBPRINT_B64_LEN];
    FUZZ_CHECK(cs_ok(cs_tee_key_thumbprint(k2, NULL, b64_2)) && strcmp(b64, b64_2) == 0);
    cs_tee_key_free(k2);
    json_decref(renamed);
    check_jwe(k);
    cs_tee_key_free(k);
    json_decref(jwk);
    return 0;
}
