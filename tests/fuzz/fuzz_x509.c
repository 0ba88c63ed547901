/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: cs_x509_stack_parse and cs_x509_crl_parse on the same input (PEM or DER),
 * then what the verifiers read from what they decode: validity windows, the subject CN,
 * and the Intel SGX extension of PCK certificates (cs_sgx_pck_ext_parse, our own ASN.1
 * walk over hostile bytes). Corpus: corpus/x509/.
 *
 * Invariants: outputs are NULL on failure, a chain holds 1..CS_X509_CHAIN_MAX
 * certificates, and no call leaves an error in the thread's OpenSSL error queue (house
 * style: the ERR queue is emptied where a call fails, so one failure cannot leak into
 * the next).
 */
#include <openssl/err.h>
#include <string.h>

#include "crypto/cs_ossl.h"
#include "crypto/cs_x509.h"
#include "crypto/sgx_pck.h"
#include "fuzz_target.h"

static void check_cert(const X509 *cert)
{
    struct cs_window w;
    cs_res r = cs_x509_window(cert, &w);
    FUZZ_CHECK(fuzz_is_input_verdict(r.code) && ERR_peek_error() == 0);
    char cn[128];
    if (cs_ok(cs_x509_subject_cn(cert, cn, sizeof cn))) {
        FUZZ_CHECK(memchr(cn, '\0', sizeof cn) != NULL);
    }
    FUZZ_CHECK(ERR_peek_error() == 0);
    struct cs_sgx_pck_ext ext;
    r = cs_sgx_pck_ext_parse(cert, &ext);
    FUZZ_CHECK(fuzz_is_input_verdict(r.code) && ERR_peek_error() == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ERR_clear_error();
    struct cs_cur in = cs_cur_of(data, size);

    CS_AUTO(cs_x509_stack_freep) STACK_OF(X509) *chain = NULL;
    cs_res r = cs_x509_stack_parse(in, &chain);
    FUZZ_CHECK(ERR_peek_error() == 0);
    if (cs_ok(r)) {
        FUZZ_CHECK(chain != NULL);
        int n = sk_X509_num(chain);
        FUZZ_CHECK(n >= 1 && n <= CS_X509_CHAIN_MAX);
        for (int i = 0; i < n; i++) {
            check_cert(sk_X509_value(chain, i));
        }
    } else {
        FUZZ_CHECK(chain == NULL && fuzz_is_input_verdict(r.code));
    }

    CS_AUTO(cs_x509_crl_freep) X509_CRL *crl = NULL;
    r = cs_x509_crl_parse(in, &crl);
    FUZZ_CHECK(ERR_peek_error() == 0);
    if (cs_ok(r)) {
        FUZZ_CHECK(crl != NULL);
        struct cs_window w;
        r = cs_x509_crl_window(crl, &w);
        FUZZ_CHECK(fuzz_is_input_verdict(r.code) && ERR_peek_error() == 0);
    } else {
        FUZZ_CHECK(crl == NULL && fuzz_is_input_verdict(r.code));
    }
    return 0;
}
