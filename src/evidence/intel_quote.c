/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel DCAP quote parser (v3, v4, v5). See intel_quote.h for sources; every offset
 * named below is from sgx_quote_3.h / sgx_quote_4.h / sgx_quote_5.h.
 */
#include "evidence/intel_quote.h"

CS_RESULT cs_sgx_report_parse(struct cs_cur raw, struct cs_sgx_report *r)
{
    CS_ENSURE(r != NULL, CS_E_ARG);
    CS_ENSURE(raw.left == CS_SGX_REPORT_BODY_LEN, CS_E_TRUNCATED);
    struct cs_cur c = raw;
    *r = (struct cs_sgx_report){ 0 };
    CS_TRY(cs_cur_copy(&c, r->cpu_svn, sizeof r->cpu_svn));                 /* 0 */
    CS_TRY(cs_cur_u32le(&c, &r->misc_select));                              /* 16 */
    CS_TRY(cs_cur_skip(&c, 12));                                            /* 20: reserved1 */
    CS_TRY(cs_cur_copy(&c, r->isv_ext_prod_id, sizeof r->isv_ext_prod_id)); /* 32 */
    CS_TRY(cs_cur_copy(&c, r->attributes, sizeof r->attributes));           /* 48 */
    CS_TRY(cs_cur_copy(&c, r->mr_enclave, sizeof r->mr_enclave));           /* 64 */
    CS_TRY(cs_cur_skip(&c, 32));                                            /* 96: reserved2 */
    CS_TRY(cs_cur_copy(&c, r->mr_signer, sizeof r->mr_signer));             /* 128 */
    CS_TRY(cs_cur_skip(&c, 32));                                            /* 160: reserved3 */
    CS_TRY(cs_cur_copy(&c, r->config_id, sizeof r->config_id));             /* 192 */
    CS_TRY(cs_cur_u16le(&c, &r->isv_prod_id));                              /* 256 */
    CS_TRY(cs_cur_u16le(&c, &r->isv_svn));                                  /* 258 */
    CS_TRY(cs_cur_u16le(&c, &r->config_svn));                               /* 260 */
    CS_TRY(cs_cur_skip(&c, 42));                                            /* 262: reserved4 */
    CS_TRY(cs_cur_copy(&c, r->isv_family_id, sizeof r->isv_family_id));     /* 304 */
    CS_TRY(cs_cur_copy(&c, r->report_data, sizeof r->report_data));         /* 320 */
    return cs_cur_end(&c);
}

static cs_res tdx_report_parse(struct cs_cur raw, bool is_tdx15, struct cs_tdx_report *t)
{
    struct cs_cur c = raw;
    *t = (struct cs_tdx_report){ 0 };
    CS_TRY(cs_cur_copy(&c, t->tee_tcb_svn, sizeof t->tee_tcb_svn));         /* 0 */
    CS_TRY(cs_cur_copy(&c, t->mr_seam, sizeof t->mr_seam));                 /* 16 */
    CS_TRY(cs_cur_copy(&c, t->mrsigner_seam, sizeof t->mrsigner_seam));     /* 64 */
    CS_TRY(cs_cur_copy(&c, t->seam_attributes, sizeof t->seam_attributes)); /* 112 */
    CS_TRY(cs_cur_copy(&c, t->td_attributes, sizeof t->td_attributes));     /* 120 */
    CS_TRY(cs_cur_copy(&c, t->xfam, sizeof t->xfam));                       /* 128 */
    CS_TRY(cs_cur_copy(&c, t->mr_td, sizeof t->mr_td));                     /* 136 */
    CS_TRY(cs_cur_copy(&c, t->mr_config_id, sizeof t->mr_config_id));       /* 184 */
    CS_TRY(cs_cur_copy(&c, t->mr_owner, sizeof t->mr_owner));               /* 232 */
    CS_TRY(cs_cur_copy(&c, t->mr_owner_config, sizeof t->mr_owner_config)); /* 280 */
    for (size_t i = 0; i < 4; i++) {
        CS_TRY(cs_cur_copy(&c, t->rtmr[i], sizeof t->rtmr[i])); /* 328 + 48 i */
    }
    CS_TRY(cs_cur_copy(&c, t->report_data, sizeof t->report_data)); /* 520 */
    if (is_tdx15) {                                                  /* sgx_quote_5.h */
        CS_TRY(cs_cur_copy(&c, t->tee_tcb_svn2, sizeof t->tee_tcb_svn2)); /* 584 */
        CS_TRY(cs_cur_copy(&c, t->mr_servicetd, sizeof t->mr_servicetd)); /* 600 */
        t->has_tdx15 = true;
    }
    return cs_cur_end(&c);
}

static size_t body_len(enum cs_intel_body type)
{
    switch (type) {
    case CS_INTEL_BODY_SGX:
        return CS_SGX_REPORT_BODY_LEN;
    case CS_INTEL_BODY_TDX10:
        return CS_TDX10_BODY_LEN;
    case CS_INTEL_BODY_TDX15:
        return CS_TDX15_BODY_LEN;
    default:
        return 0;
    }
}

static cs_res parse_body(struct cs_cur raw, struct cs_intel_quote *q)
{
    switch (q->body_type) {
    case CS_INTEL_BODY_SGX:
        return cs_sgx_report_parse(raw, &q->sgx);
    case CS_INTEL_BODY_TDX10:
        return tdx_report_parse(raw, false, &q->tdx);
    case CS_INTEL_BODY_TDX15:
        return tdx_report_parse(raw, true, &q->tdx);
    default:
        CS_FAIL(CS_E_UNSUPPORTED);
    }
}

/* Header, 48 bytes: sgx_quote_header_t (v3) / sgx_quote4_header_t (v4, v5). */
static cs_res parse_header(struct cs_cur *c, struct cs_intel_quote *q)
{
    CS_ENSURE(c->left >= CS_INTEL_HEADER_LEN, CS_E_TRUNCATED);
    CS_TRY(cs_cur_u16le(c, &q->version));
    CS_ENSURE(q->version == 3 || q->version == 4 || q->version == 5, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_u16le(c, &q->att_key_type));
    /* Only ECDSA-256-with-P-256; type 3 (P-384) was specified but never shipped. */
    CS_ENSURE(q->att_key_type == CS_INTEL_ATT_KEY_ECDSA_P256, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_u32le(c, &q->tee_type)); /* v3: att_key_data_0, reserved, must be 0 */
    if (q->version == 3) {
        CS_ENSURE(q->tee_type == CS_INTEL_TEE_SGX, CS_E_FORMAT);
        CS_TRY(cs_cur_u16le(c, &q->qe_svn));
        CS_TRY(cs_cur_u16le(c, &q->pce_svn));
    } else {
        CS_ENSURE(q->tee_type == CS_INTEL_TEE_SGX || q->tee_type == CS_INTEL_TEE_TDX,
                  CS_E_UNSUPPORTED);
        CS_TRY(cs_cur_skip(c, 4)); /* reserved */
    }
    CS_TRY(cs_cur_copy(c, q->qe_vendor_id, sizeof q->qe_vendor_id));
    CS_TRY(cs_cur_copy(c, q->user_data, sizeof q->user_data));
    return CS_SUCCESS;
}

/* Selects and parses the body that follows the header. */
static cs_res parse_body_of_version(struct cs_cur *c, struct cs_intel_quote *q)
{
    struct cs_cur body;
    if (q->version == 5) {
        /* sgx_quote_5.h: u16 type, u32 size, then the body of that type */
        uint16_t type = 0;
        uint32_t size = 0;
        CS_TRY(cs_cur_u16le(c, &type));
        CS_TRY(cs_cur_u32le(c, &size));
        CS_ENSURE(type >= CS_INTEL_BODY_SGX && type <= CS_INTEL_BODY_TDX15, CS_E_UNSUPPORTED);
        q->body_type = (enum cs_intel_body)type;
        bool is_tdx_body = q->body_type != CS_INTEL_BODY_SGX;
        CS_ENSURE(is_tdx_body == (q->tee_type == CS_INTEL_TEE_TDX), CS_E_FORMAT);
        CS_ENSURE(size == body_len(q->body_type), CS_E_FORMAT);
        CS_TRY(cs_cur_view(c, size, &body));
    } else {
        q->body_type = q->tee_type == CS_INTEL_TEE_TDX ? CS_INTEL_BODY_TDX10 : CS_INTEL_BODY_SGX;
        CS_TRY(cs_cur_view(c, body_len(q->body_type), &body));
    }
    return parse_body(body, q);
}

/*
 * Certification data of type 5: the PCK chain as PEM text. One trailing NUL is tolerated
 * (some quote generators count the C string terminator); it is not part of the view.
 */
static cs_res parse_pck_chain(struct cs_cur data, struct cs_intel_quote *q)
{
    CS_ENSURE(data.left > 0, CS_E_TRUNCATED);
    if (data.p[data.left - 1] == 0) {
        data.left--;
    }
    q->pck_chain = data;
    return CS_SUCCESS;
}

/* u16 type, u32 size, then exactly size bytes. */
static cs_res parse_cert_data(struct cs_cur *c, uint16_t *type, struct cs_cur *data)
{
    uint32_t size = 0;
    CS_TRY(cs_cur_u16le(c, type));
    CS_TRY(cs_cur_u32le(c, &size));
    CS_ENSURE(size <= CS_INTEL_CERT_DATA_MAX, CS_E_TOO_LARGE);
    CS_TRY(cs_cur_view(c, size, data));
    return CS_SUCCESS;
}

/* QE report, its signature, QE auth data and the PCK certification data. */
static cs_res parse_qe_part(struct cs_cur *c, struct cs_intel_quote *q)
{
    CS_TRY(cs_cur_view(c, CS_SGX_REPORT_BODY_LEN, &q->qe_report_raw));
    CS_TRY(cs_sgx_report_parse(q->qe_report_raw, &q->qe_report));
    CS_TRY(cs_cur_copy(c, q->qe_report_sig, sizeof q->qe_report_sig));
    uint16_t auth_len = 0;
    CS_TRY(cs_cur_u16le(c, &auth_len));
    CS_ENSURE(auth_len <= CS_INTEL_QE_AUTH_MAX, CS_E_TOO_LARGE);
    CS_TRY(cs_cur_view(c, auth_len, &q->qe_auth_data));
    uint16_t type = 0;
    struct cs_cur data;
    CS_TRY(parse_cert_data(c, &type, &data));
    CS_ENSURE(type == CS_INTEL_CERT_PCK_CHAIN, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_end(c));
    return parse_pck_chain(data, q);
}

/* sgx_ql_ecdsa_sig_data_t (v3) / sgx_quote4 signature data with nested type 6 (v4, v5). */
static cs_res parse_sig_data(struct cs_cur sig, struct cs_intel_quote *q)
{
    struct cs_cur c = sig;
    CS_TRY(cs_cur_copy(&c, q->quote_sig, sizeof q->quote_sig));
    CS_TRY(cs_cur_copy(&c, q->att_key, sizeof q->att_key));
    if (q->version == 3) {
        return parse_qe_part(&c, q);
    }
    uint16_t type = 0;
    struct cs_cur data;
    CS_TRY(parse_cert_data(&c, &type, &data));
    CS_ENSURE(type == CS_INTEL_CERT_QE_REPORT, CS_E_UNSUPPORTED);
    CS_TRY(cs_cur_end(&c));
    return parse_qe_part(&data, q);
}

CS_RESULT cs_intel_quote_parse(const uint8_t *buf, size_t len, struct cs_intel_quote *q)
{
    CS_ENSURE(q != NULL && (buf != NULL || len == 0), CS_E_ARG);
    *q = (struct cs_intel_quote){ 0 };
    CS_ENSURE(len <= CS_INTEL_QUOTE_MAX, CS_E_TOO_LARGE); /* hard ceiling before any work */
    struct cs_cur all = cs_cur_of(buf, len);
    struct cs_cur c = all;
    CS_TRY(parse_header(&c, q));
    CS_TRY(parse_body_of_version(&c, q));
    q->signed_span = (struct cs_cur){ all.p, all.left - c.left };
    uint32_t sig_len = 0;
    CS_TRY(cs_cur_u32le(&c, &sig_len));
    CS_TRY(cs_cur_view(&c, sig_len, &q->sig_data)); /* TRUNCATED if sig_len > what is left */
    q->quote_len = all.left - c.left;
    q->trailing_len = c.left; /* the quote ends here; what follows is not ours to read */
    return parse_sig_data(q->sig_data, q);
}

size_t cs_intel_quote_report_data_offset(const struct cs_intel_quote *q)
{
    switch (q->body_type) {
    case CS_INTEL_BODY_SGX:
        return CS_INTEL_HEADER_LEN + (q->version == 5 ? 6 : 0) + 320;
    case CS_INTEL_BODY_TDX10:
    case CS_INTEL_BODY_TDX15:
        return CS_INTEL_HEADER_LEN + (q->version == 5 ? 6 : 0) + 520;
    default:
        return 0;
    }
}
