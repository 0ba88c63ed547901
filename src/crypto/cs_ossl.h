/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Glue for OpenSSL: cleanup helpers for CS_AUTO and the ERR-queue discipline.
 * Only src/crypto includes OpenSSL headers.
 */
#ifndef CS_CRYPTO_OSSL_H
#define CS_CRYPTO_OSSL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/cs_mem.h"
#include "core/cs_result.h"

/* Empties the thread's OpenSSL error queue (so one failure cannot leak into the next). */
void cs_ossl_clear(void);

#define CS_OSSL_ENSURE(cond, c)                                                            \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            cs_ossl_clear();                                                               \
            CS_FAIL(c);                                                                    \
        }                                                                                  \
    } while (0)

void cs_x509_freep(X509 **p);
void cs_x509_crl_freep(X509_CRL **p);
void cs_x509_stack_freep(STACK_OF(X509) **p);
void cs_evp_pkey_freep(EVP_PKEY **p);

#endif
