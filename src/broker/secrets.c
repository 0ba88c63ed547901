/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/secrets.h"

#include <stdio.h>
#include <string.h>

#include "crypto/cs_envelope.h"

#define AAD_MAX 320

static cs_res resource_aad(const char *name, int64_t version, uint8_t *out, size_t *len)
{
    static const char label[] = "custos/resource/v1";
    size_t nlen = strlen(name);
    CS_ENSURE(nlen > 0 && nlen <= 256 && version >= 1, CS_E_ARG);
    size_t o = 0;
    memcpy(out, label, sizeof label); /* with its NUL */
    o += sizeof label;
    memcpy(out + o, name, nlen + 1);
    o += nlen + 1;
    int n = snprintf((char *)out + o, AAD_MAX - o, "%lld", (long long)version);
    CS_ENSURE(n > 0 && (size_t)n < AAD_MAX - o, CS_E_INTERNAL);
    *len = o + (size_t)n;
    return CS_SUCCESS;
}

CS_RESULT cs_resource_seal(const struct cs_keyprov *kek, const char *name, int64_t version,
                           const uint8_t *pt, size_t len, uint8_t **blob, size_t *blob_len)
{
    uint8_t aad[AAD_MAX];
    size_t aad_len = 0;
    CS_TRY(resource_aad(name, version, aad, &aad_len));
    return cs_envelope_seal(kek, aad, aad_len, pt, len, blob, blob_len);
}

CS_RESULT cs_resource_open(const struct cs_keyprov *kek, const char *name, int64_t version,
                           const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *len)
{
    uint8_t aad[AAD_MAX];
    size_t aad_len = 0;
    CS_TRY(resource_aad(name, version, aad, &aad_len));
    return cs_envelope_open(kek, aad, aad_len, blob, blob_len, pt, len);
}
