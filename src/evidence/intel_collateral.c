/* SPDX-License-Identifier: Apache-2.0 */
/* Intel TCB Info and Enclave Identity documents (see intel_collateral.h). */
#include "evidence/intel_collateral.h"

#include <stdio.h>
#include <string.h>

#include "core/cs_json.h"

static const struct {
    const char *name;
    enum cs_tcb_status status;
} status_names[] = {
    { "UpToDate", CS_TCB_UP_TO_DATE },
    { "SWHardeningNeeded", CS_TCB_SW_HARDENING_NEEDED },
    { "ConfigurationNeeded", CS_TCB_CONFIGURATION_NEEDED },
    { "ConfigurationAndSWHardeningNeeded", CS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED },
    { "OutOfDate", CS_TCB_OUT_OF_DATE },
    { "OutOfDateConfigurationNeeded", CS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED },
    { "Revoked", CS_TCB_REVOKED },
};

const char *cs_tcb_status_name(enum cs_tcb_status s)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
        if (status_names[i].status == s) {
            return status_names[i].name;
        }
    }
    return "Unknown";
}

/*
 * Platform levels may carry any of the seven statuses; TDX module and enclave identity
 * levels only UpToDate, OutOfDate or Revoked (Intel QVL VALID_MODULE_TCB_STATUSES).
 */
static cs_res status_parse(const json_t *obj, bool is_platform, enum cs_tcb_status *out)
{
    const char *s = NULL;
    CS_TRY(cs_json_get_str(obj, "tcbStatus", 64, &s, NULL));
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strcmp(s, status_names[i].name) != 0) {
            continue;
        }
        enum cs_tcb_status st = status_names[i].status;
        CS_ENSURE(is_platform || st == CS_TCB_UP_TO_DATE || st == CS_TCB_OUT_OF_DATE ||
                      st == CS_TCB_REVOKED,
                  CS_E_FORMAT);
        *out = st;
        return CS_SUCCESS;
    }
    CS_FAIL(CS_E_FORMAT);
}

/* advisoryIDs: optional array of short strings. */
static cs_res advisories_parse(const json_t *level, const json_t **out)
{
    *out = NULL;
    const json_t *a = json_object_get(level, "advisoryIDs");
    if (a == NULL) {
        return CS_SUCCESS;
    }
    CS_ENSURE(json_is_array(a), CS_E_FORMAT);
    CS_ENSURE(json_array_size(a) <= CS_ADVISORIES_MAX, CS_E_TOO_LARGE);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *id = json_array_get(a, i);
        CS_ENSURE(json_is_string(id), CS_E_FORMAT);
        CS_ENSURE(json_string_length(id) > 0 && json_string_length(id) <= CS_ADVISORY_ID_MAX,
                  CS_E_FORMAT);
    }
    *out = a;
    return CS_SUCCESS;
}

/* The common wrapper: {"<key>": body, "signature": hex}, nothing else. */
static cs_res signed_doc_parse(struct cs_cur doc, const char *key, json_t **root,
                               struct cs_cur *body_span, json_t **body, uint8_t sig[64])
{
    CS_TRY(cs_json_load(doc, CS_COLLATERAL_JSON_MAX, root));
    CS_ENSURE(json_object_size(*root) == 2, CS_E_FORMAT);
    CS_TRY(cs_json_get_obj(*root, key, body));
    CS_TRY(cs_json_get_hex(*root, "signature", sig, 64));
    CS_TRY(cs_json_member_span(doc, key, body_span));
    return CS_SUCCESS;
}

static cs_res isv_levels_parse(const json_t *arr, struct cs_isv_level *levels, size_t *n)
{
    CS_ENSURE(json_is_array(arr), CS_E_FORMAT);
    size_t count = json_array_size(arr);
    CS_ENSURE(count > 0, CS_E_FORMAT);
    CS_ENSURE(count <= CS_MODULE_LEVELS_MAX, CS_E_TOO_LARGE);
    for (size_t i = 0; i < count; i++) {
        const json_t *lv = json_array_get(arr, i);
        json_t *tcb = NULL;
        uint64_t svn = 0;
        CS_ENSURE(json_is_object(lv), CS_E_FORMAT);
        CS_TRY(cs_json_get_obj(lv, "tcb", &tcb));
        CS_TRY(cs_json_get_uint(tcb, "isvsvn", UINT16_MAX, &svn));
        levels[i].isv_svn = (uint16_t)svn;
        CS_TRY(status_parse(lv, false, &levels[i].status));
        CS_TRY(cs_json_get_time(lv, "tcbDate", &levels[i].tcb_date));
        CS_TRY(advisories_parse(lv, &levels[i].advisory_ids));
    }
    *n = count;
    return CS_SUCCESS;
}

/* v3 components: array of exactly 16 {"svn": 0..255, "category"?, "type"?}. */
static cs_res components_parse(const json_t *tcb, const char *key, uint8_t out[16])
{
    json_t *arr = NULL;
    CS_TRY(cs_json_get_arr(tcb, key, 16, &arr));
    CS_ENSURE(json_array_size(arr) == 16, CS_E_FORMAT);
    for (size_t i = 0; i < 16; i++) {
        const json_t *c = json_array_get(arr, i);
        uint64_t svn = 0;
        CS_ENSURE(json_is_object(c), CS_E_FORMAT);
        CS_TRY(cs_json_get_uint(c, "svn", 255, &svn));
        out[i] = (uint8_t)svn;
    }
    return CS_SUCCESS;
}

static cs_res tcb_level_parse(const json_t *lv, const struct cs_tcb_info *t, struct cs_tcb_level *l)
{
    json_t *tcb = NULL;
    uint64_t v = 0;
    CS_ENSURE(json_is_object(lv), CS_E_FORMAT);
    CS_TRY(cs_json_get_obj(lv, "tcb", &tcb));
    if (t->version == 2) {
        for (unsigned i = 0; i < 16; i++) {
            char key[24];
            snprintf(key, sizeof key, "sgxtcbcomp%02usvn", i + 1);
            CS_TRY(cs_json_get_uint(tcb, key, 255, &v));
            l->sgx_svn[i] = (uint8_t)v;
        }
    } else {
        CS_TRY(components_parse(tcb, "sgxtcbcomponents", l->sgx_svn));
        if (t->is_tdx) {
            CS_TRY(components_parse(tcb, "tdxtcbcomponents", l->tdx_svn));
        }
    }
    CS_TRY(cs_json_get_uint(tcb, "pcesvn", UINT16_MAX, &v));
    l->pce_svn = (uint16_t)v;
    CS_TRY(status_parse(lv, true, &l->status));
    CS_TRY(cs_json_get_time(lv, "tcbDate", &l->tcb_date));
    return advisories_parse(lv, &l->advisory_ids);
}

/*
 * Intel QVL keeps the platform levels in a std::set ordered by TcbLevel::operator>
 * (SGX components lexicographically, then PCESVN, then for TDX the TDX components) and
 * takes the first match in that order. The verifier takes the first match in document
 * order, so the document must be in exactly that order (PCS serves it so): > 0 when a
 * sorts strictly before b.
 */
static int tcb_level_cmp(const struct cs_tcb_level *a, const struct cs_tcb_level *b, bool is_tdx)
{
    int c = memcmp(a->sgx_svn, b->sgx_svn, sizeof a->sgx_svn);
    if (c != 0) {
        return c;
    }
    if (a->pce_svn != b->pce_svn) {
        return a->pce_svn > b->pce_svn ? 1 : -1;
    }
    return is_tdx ? memcmp(a->tdx_svn, b->tdx_svn, sizeof a->tdx_svn) : 0;
}

static cs_res tdx_module_parse(const json_t *body, struct cs_tcb_info *t)
{
    json_t *m = NULL;
    CS_TRY(cs_json_get_obj(body, "tdxModule", &m));
    CS_TRY(cs_json_get_hex(m, "mrsigner", t->module_mrsigner, sizeof t->module_mrsigner));
    CS_TRY(cs_json_get_hex(m, "attributes", t->module_attributes, sizeof t->module_attributes));
    CS_TRY(cs_json_get_hex(m, "attributesMask", t->module_attributes_mask,
                           sizeof t->module_attributes_mask));
    t->has_tdx_module = true;
    const json_t *ids = json_object_get(body, "tdxModuleIdentities");
    if (ids == NULL) {
        return CS_SUCCESS;
    }
    CS_ENSURE(json_is_array(ids), CS_E_FORMAT);
    CS_ENSURE(json_array_size(ids) <= CS_TDX_MODULE_IDS_MAX, CS_E_TOO_LARGE);
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const json_t *o = json_array_get(ids, i);
        struct cs_tdx_module_identity *mi = &t->module_ids[i];
        const char *id = NULL;
        size_t id_len = 0;
        CS_ENSURE(json_is_object(o), CS_E_FORMAT);
        CS_TRY(cs_json_get_str(o, "id", sizeof mi->id - 1, &id, &id_len));
        memcpy(mi->id, id, id_len);
        mi->id[id_len] = '\0';
        CS_TRY(cs_json_get_hex(o, "mrsigner", mi->mrsigner, sizeof mi->mrsigner));
        CS_TRY(cs_json_get_hex(o, "attributes", mi->attributes, sizeof mi->attributes));
        CS_TRY(cs_json_get_hex(o, "attributesMask", mi->attributes_mask,
                               sizeof mi->attributes_mask));
        CS_TRY(isv_levels_parse(json_object_get(o, "tcbLevels"), mi->levels, &mi->n_levels));
        for (size_t j = 0; j < i; j++) {
            CS_ENSURE(strcmp(t->module_ids[j].id, mi->id) != 0, CS_E_FORMAT); /* unique ids */
        }
    }
    t->n_module_ids = json_array_size(ids);
    return CS_SUCCESS;
}

void cs_tcb_info_clear(struct cs_tcb_info *t)
{
    if (t != NULL) {
        json_decref(t->root);
        t->root = NULL;
    }
}

static cs_res tcb_info_fill(struct cs_cur doc, struct cs_tcb_info *t)
{
    json_t *body = NULL;
    CS_TRY(signed_doc_parse(doc, "tcbInfo", &t->root, &t->signed_body, &body, t->signature));
    uint64_t v = 0;
    CS_TRY(cs_json_get_uint(body, "version", 255, &v));
    CS_ENSURE(v == 2 || v == 3, CS_E_UNSUPPORTED);
    t->version = (unsigned)v;
    if (t->version == 3) {
        const char *id = NULL;
        CS_TRY(cs_json_get_str(body, "id", 8, &id, NULL));
        CS_ENSURE(strcmp(id, "SGX") == 0 || strcmp(id, "TDX") == 0, CS_E_UNSUPPORTED);
        t->is_tdx = strcmp(id, "TDX") == 0;
    }
    CS_TRY(cs_json_get_time(body, "issueDate", &t->issue_date));
    CS_TRY(cs_json_get_time(body, "nextUpdate", &t->next_update));
    CS_TRY(cs_json_get_hex(body, "fmspc", t->fmspc, sizeof t->fmspc));
    CS_TRY(cs_json_get_hex(body, "pceId", t->pce_id, sizeof t->pce_id));
    CS_TRY(cs_json_get_uint(body, "tcbType", UINT32_MAX, &v));
    CS_ENSURE(v == 0, CS_E_UNSUPPORTED); /* the only type defined: SVNs compared one by one */
    CS_TRY(cs_json_get_uint(body, "tcbEvaluationDataNumber", UINT32_MAX, &v));
    t->tcb_eval_num = (uint32_t)v;
    if (t->is_tdx) {
        CS_TRY(tdx_module_parse(body, t));
    }
    json_t *levels = NULL;
    CS_TRY(cs_json_get_arr(body, "tcbLevels", CS_TCB_LEVELS_MAX, &levels));
    CS_ENSURE(json_array_size(levels) > 0, CS_E_FORMAT);
    for (size_t i = 0; i < json_array_size(levels); i++) {
        CS_TRY(tcb_level_parse(json_array_get(levels, i), t, &t->levels[i]));
        /* strictly descending, as in QVL's set: no other order, no duplicate */
        CS_ENSURE(i == 0 || tcb_level_cmp(&t->levels[i - 1], &t->levels[i], t->is_tdx) > 0,
                  CS_E_FORMAT);
    }
    t->n_levels = json_array_size(levels);
    return CS_SUCCESS;
}

CS_RESULT cs_tcb_info_parse(struct cs_cur doc, struct cs_tcb_info *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    cs_res r = tcb_info_fill(doc, out);
    if (!cs_ok(r)) {
        cs_tcb_info_clear(out);
    }
    return r;
}

void cs_qe_identity_clear(struct cs_qe_identity *q)
{
    if (q != NULL) {
        json_decref(q->root);
        q->root = NULL;
    }
}

static cs_res u32_hex(const json_t *obj, const char *key, uint32_t *out)
{
    uint8_t b[4];
    CS_TRY(cs_json_get_hex(obj, key, b, sizeof b));
    /* written as a big-endian number, e.g. "FFFFFFFF" */
    *out = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return CS_SUCCESS;
}

static cs_res qe_identity_fill(struct cs_cur doc, struct cs_qe_identity *q)
{
    json_t *body = NULL;
    CS_TRY(signed_doc_parse(doc, "enclaveIdentity", &q->root, &q->signed_body, &body,
                            q->signature));
    uint64_t v = 0;
    const char *id = NULL;
    CS_TRY(cs_json_get_uint(body, "version", 255, &v));
    CS_ENSURE(v == 2, CS_E_UNSUPPORTED);
    CS_TRY(cs_json_get_str(body, "id", 16, &id, NULL));
    if (strcmp(id, "QE") == 0) {
        q->kind = CS_QE_SGX;
    } else if (strcmp(id, "TD_QE") == 0) {
        q->kind = CS_QE_TDX;
    } else {
        CS_FAIL(CS_E_UNSUPPORTED); /* QVE and other enclave identities are not QE identities */
    }
    CS_TRY(cs_json_get_time(body, "issueDate", &q->issue_date));
    CS_TRY(cs_json_get_time(body, "nextUpdate", &q->next_update));
    CS_TRY(cs_json_get_uint(body, "tcbEvaluationDataNumber", UINT32_MAX, &v));
    q->tcb_eval_num = (uint32_t)v;
    CS_TRY(u32_hex(body, "miscselect", &q->miscselect));
    CS_TRY(u32_hex(body, "miscselectMask", &q->miscselect_mask));
    CS_TRY(cs_json_get_hex(body, "attributes", q->attributes, sizeof q->attributes));
    CS_TRY(cs_json_get_hex(body, "attributesMask", q->attributes_mask, sizeof q->attributes_mask));
    CS_TRY(cs_json_get_hex(body, "mrsigner", q->mrsigner, sizeof q->mrsigner));
    CS_TRY(cs_json_get_uint(body, "isvprodid", UINT16_MAX, &v));
    q->isv_prod_id = (uint16_t)v;
    return isv_levels_parse(json_object_get(body, "tcbLevels"), q->levels, &q->n_levels);
}

CS_RESULT cs_qe_identity_parse(struct cs_cur doc, struct cs_qe_identity *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    memset(out, 0, sizeof *out);
    cs_res r = qe_identity_fill(doc, out);
    if (!cs_ok(r)) {
        cs_qe_identity_clear(out);
    }
    return r;
}
