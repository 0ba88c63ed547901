/* SPDX-License-Identifier: Apache-2.0 */
/* The KBS runtime-data binding (cs_kbs_binding.h). */
#include "crypto/cs_kbs_binding.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/cs_buf.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "crypto/cs_ecdsa.h"
#include "crypto/cs_ossl.h"

static void buf_clearp(struct cs_buf *b)
{
    cs_buf_clear(b);
}

static cs_res report_data(const char *nonce, json_t *tee_pubkey, const char *additional,
                          uint8_t out[CS_KBS_REPORT_DATA_LEN])
{
    CS_ENSURE(json_is_object(tee_pubkey), CS_E_FORMAT);
    size_t nonce_len = strlen(nonce);
    CS_ENSURE(nonce_len > 0, CS_E_FORMAT);
    CS_ENSURE(nonce_len <= CS_KBS_NONCE_MAX, CS_E_TOO_LARGE);
    CS_AUTO_JSON *runtime = json_object();
    CS_ENSURE(runtime != NULL, CS_E_NOMEM);
    /* json_string is NULL for invalid UTF-8 as well as out of memory */
    json_t *extra = json_string(additional != NULL ? additional : "");
    CS_ENSURE(extra != NULL, CS_E_FORMAT);
    CS_TRY(cs_json_set_new(runtime, "additional-evidence", extra));
    json_t *n = json_string(nonce);
    CS_ENSURE(n != NULL, CS_E_FORMAT);
    CS_TRY(cs_json_set_new(runtime, "nonce", n));
    CS_ENSURE(json_object_set(runtime, "tee-pubkey", tee_pubkey) == 0, CS_E_NOMEM);

    CS_AUTO(buf_clearp) struct cs_buf canonical;
    cs_buf_init(&canonical, CS_KBS_CANONICAL_MAX);
    CS_TRY(cs_jcs_encode(runtime, &canonical));
    unsigned int len = 0;
    CS_OSSL_ENSURE(EVP_Digest(canonical.p, canonical.len, out, &len, EVP_sha384(), NULL) == 1 &&
                       len == CS_SHA384_LEN,
                   CS_E_CRYPTO);
    return CS_SUCCESS;
}

CS_RESULT cs_kbs_report_data(const char *nonce, json_t *tee_pubkey, const char *additional,
                             uint8_t out[CS_KBS_REPORT_DATA_LEN])
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, CS_KBS_REPORT_DATA_LEN); /* the 16 bytes after the digest stay zero */
    CS_ENSURE(nonce != NULL && tee_pubkey != NULL, CS_E_ARG);
    cs_res r = report_data(nonce, tee_pubkey, additional, out);
    if (!cs_ok(r)) {
        memset(out, 0, CS_KBS_REPORT_DATA_LEN);
    }
    return r;
}

CS_RESULT cs_kbs_init_data_digest(const char *platform, const uint8_t *body, size_t n,
                                  uint8_t out[48], size_t *len)
{
    CS_ENSURE(platform != NULL && out != NULL && len != NULL && (body != NULL || n == 0),
              CS_E_ARG);
    const EVP_MD *md = NULL;
    if (strcmp(platform, "tdx") == 0) {
        md = EVP_sha384();
    } else if (strcmp(platform, "snp") == 0) {
        md = EVP_sha256();
    } else {
        CS_FAIL(CS_E_UNSUPPORTED);
    }
    unsigned int dlen = 0;
    CS_OSSL_ENSURE(EVP_Digest(body, n, out, &dlen, md, NULL) == 1, CS_E_CRYPTO);
    *len = dlen;
    return CS_SUCCESS;
}
