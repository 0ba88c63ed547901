/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/bundle.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_jcs.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"

#define FILE_MAX (1u << 20)

static const char *const dcap_names[] = {
    "tcb_info.json",   "tcb_info_issuer_chain.pem",    "tcb_info_issuer_chain.der",
    "qe_identity.json", "qe_identity_issuer_chain.pem", "qe_identity_issuer_chain.der",
    "pck_crl.der",     "pck_crl.pem",                  "root_ca_crl.der",
    "root_ca_crl.pem", "trust_anchor.pem",             "trust_anchor.der",
};

static bool is_dcap_name(const char *name)
{
    for (size_t i = 0; i < sizeof dcap_names / sizeof dcap_names[0]; i++) {
        if (strcmp(name, dcap_names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static cs_res add_file(json_t *files, const char *dir, const char *name)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    if (access(path, F_OK) != 0) {
        return CS_SUCCESS; /* optional file, or the other encoding of a present one */
    }
    struct cs_blob f = { 0 };
    CS_TRY(cs_file_read(path, FILE_MAX, &f));
    size_t cap = 4 * ((f.len + 2) / 3) + 1;
    char *b64 = NULL;
    cs_res r = cs_alloc(1, cap, (void **)&b64);
    if (cs_ok(r)) {
        r = cs_b64_encode(f.p, f.len, b64, cap);
    }
    cs_blob_clear(&f);
    if (cs_ok(r)) {
        r = cs_json_set_new(files, name, json_string(b64));
    }
    cs_free(b64);
    return r;
}

CS_RESULT cs_bundle_dcap(const char *dir, struct cs_buf *out)
{
    CS_AUTO(cs_json_decrefp) json_t *files = json_object();
    CS_ENSURE(files != NULL, CS_E_NOMEM);
    for (size_t i = 0; i < sizeof dcap_names / sizeof dcap_names[0]; i++) {
        CS_TRY(add_file(files, dir, dcap_names[i]));
    }
    CS_AUTO(cs_json_decrefp) json_t *doc = json_pack(
        "{s:s, s:s, s:O}", "format", "custos-collateral/v1", "kind", "dcap", "files", files);
    CS_ENSURE(doc != NULL, CS_E_NOMEM);
    cs_buf_init(out, CS_BUNDLE_MAX);
    return cs_jcs_encode(doc, out);
}

static cs_res write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[4200];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof path, CS_E_ARG);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    CS_ENSURE(fd >= 0, CS_E_IO);
    bool is_ok = write(fd, p, len) == (ssize_t)len;
    is_ok &= close(fd) == 0;
    CS_ENSURE(is_ok, CS_E_IO);
    return CS_SUCCESS;
}

CS_RESULT cs_bundle_extract_dcap(const uint8_t *bundle, size_t len, const char *dir)
{
    CS_AUTO(cs_json_decrefp) json_t *doc = NULL;
    CS_TRY(cs_json_load((struct cs_cur){ .p = bundle, .left = len }, CS_BUNDLE_MAX, &doc));
    const char *format = NULL;
    const char *kind = NULL;
    CS_TRY(cs_json_get_str(doc, "format", 64, &format, NULL));
    CS_TRY(cs_json_get_str(doc, "kind", 16, &kind, NULL));
    CS_ENSURE(strcmp(format, "custos-collateral/v1") == 0 && strcmp(kind, "dcap") == 0,
              CS_E_FORMAT);
    json_t *files = NULL;
    CS_TRY(cs_json_get_obj(doc, "files", &files));
    const char *name = NULL;
    json_t *v = NULL;
    json_object_foreach(files, name, v)
    {
        CS_ENSURE(is_dcap_name(name) && json_is_string(v), CS_E_FORMAT);
        size_t cap = json_string_length(v);
        uint8_t *raw = NULL;
        CS_TRY(cs_alloc(1, cap + 1, (void **)&raw));
        size_t n = 0;
        cs_res r = cs_b64_decode(json_string_value(v), cap, true, raw, cap + 1, &n);
        if (cs_ok(r)) {
            r = write_file(dir, name, raw, n);
        }
        cs_free(raw);
        CS_TRY(r);
    }
    return CS_SUCCESS;
}

void cs_bundle_remove_dcap(const char *dir)
{
    for (size_t i = 0; i < sizeof dcap_names / sizeof dcap_names[0]; i++) {
        char path[4200];
        int n = snprintf(path, sizeof path, "%s/%s", dir, dcap_names[i]);
        if (n > 0 && (size_t)n < sizeof path) {
            unlink(path);
        }
    }
}
