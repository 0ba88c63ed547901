/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resources at rest: the envelope (src/crypto/cs_envelope.h) of a secret, with AAD
 * "custos/resource/v1" NUL name NUL version (decimal), so that a blob cannot be served
 * under another name or as another version of the same name.
 */
#ifndef CS_BROKER_SECRETS_H
#define CS_BROKER_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_keyprov;

CS_RESULT cs_resource_seal(const struct cs_keyprov *kek, const char *name, int64_t version,
                           const uint8_t *pt, size_t len, uint8_t **blob, size_t *blob_len);
/* *pt: cs_free_wipe(*pt, *len) after use. */
CS_RESULT cs_resource_open(const struct cs_keyprov *kek, const char *name, int64_t version,
                           const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *len);

#endif
