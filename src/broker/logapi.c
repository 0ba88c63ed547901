/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read side of the audit log under /custos/v1/log/ (docs/api.md):
 *   checkpoint                          a fresh C2SP signed checkpoint (text/plain)
 *   entry/<i>                           the record at index i (JCS JSON)
 *   proof/inclusion?index=I&size=N      {"index","size","leaf_hash","root","proof":[hex]}
 *   proof/consistency?old=M&new=N       {"old","new","old_root","new_root","proof":[hex]}
 *   tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]   C2SP tlog-tiles
 * Public by design: records hold no secret, and auditors need no credential to check them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "tlog/log.h"

#define H CS_MERKLE_HASH_LEN

static bool parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static json_t *hex_json(const uint8_t *h)
{
    char hex[2 * H + 1];
    if (!cs_ok(cs_hex_encode(h, H, hex, sizeof hex))) {
        return NULL;
    }
    return json_string(hex);
}

static json_t *proof_json(const uint8_t *proof, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, hex_json(proof + i * H)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static void checkpoint(struct cs_broker *b, struct cs_http_resp *resp)
{
    char note[CS_LOG_NOTE_MAX];
    size_t len = 0;
    uint64_t size = 0;
    if (!cs_ok(cs_log_checkpoint(b->log, &b->log_signer, note, sizeof note, &len, &size))
        || !cs_ok(cs_buf_append(&resp->body, note, len))) {
        cs_broker_error(resp, 500, "InternalError", "cannot sign a checkpoint");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
}

static void entry(struct cs_broker *b, const char *idx, struct cs_http_resp *resp)
{
    uint64_t i = 0;
    uint64_t size = 0;
    if (!parse_u64(idx, &i) || !cs_ok(cs_log_size(b->log, &size)) || i >= size) {
        cs_broker_error(resp, 404, "NotFound", "no such entry");
        return;
    }
    struct cs_blob e = { 0 };
    if (!cs_ok(cs_log_entry(b->log, i, &e)) || !cs_ok(cs_buf_append(&resp->body, e.p, e.len))) {
        cs_blob_clear(&e);
        cs_broker_error(resp, 500, "InternalError", "cannot read the entry");
        return;
    }
    cs_blob_clear(&e);
    resp->status = 200;
    resp->content_type = "application/json";
}

static void inclusion(struct cs_broker *b, const struct cs_http_req *req,
                      struct cs_http_resp *resp)
{
    uint64_t index = 0;
    uint64_t size = 0;
    uint64_t cur = 0;
    if (!parse_u64(cs_http_arg(req, "index"), &index) || !parse_u64(cs_http_arg(req, "size"), &size)
        || !cs_ok(cs_log_size(b->log, &cur)) || index >= size || size > cur) {
        cs_broker_error(resp, 400, "InvalidRequest", "need index < size <= the log size");
        return;
    }
    uint8_t leaf[H];
    uint8_t root[H];
    uint8_t proof[CS_MERKLE_PROOF_MAX * H];
    size_t n = 0;
    if (!cs_ok(cs_log_prove_inclusion(b->log, index, size, leaf, root, proof, &n))) {
        cs_broker_error(resp, 500, "InternalError", "cannot prove inclusion");
        return;
    }
    cs_broker_json(resp, 200,
                   json_pack("{s:I, s:I, s:o, s:o, s:o}", "index", (json_int_t)index, "size",
                             (json_int_t)size, "leaf_hash", hex_json(leaf), "root",
                             hex_json(root), "proof", proof_json(proof, n)));
}

static void consistency(struct cs_broker *b, const struct cs_http_req *req,
                        struct cs_http_resp *resp)
{
    uint64_t old_size = 0;
    uint64_t new_size = 0;
    uint64_t cur = 0;
    if (!parse_u64(cs_http_arg(req, "old"), &old_size)
        || !parse_u64(cs_http_arg(req, "new"), &new_size) || !cs_ok(cs_log_size(b->log, &cur))
        || old_size == 0 || old_size > new_size || new_size > cur) {
        cs_broker_error(resp, 400, "InvalidRequest", "need 0 < old <= new <= the log size");
        return;
    }
    uint8_t old_root[H];
    uint8_t new_root[H];
    uint8_t proof[CS_MERKLE_PROOF_MAX * H];
    size_t n = 0;
    if (!cs_ok(cs_log_prove_consistency(b->log, old_size, new_size, old_root, new_root, proof,
                                        &n))) {
        cs_broker_error(resp, 500, "InternalError", "cannot prove consistency");
        return;
    }
    cs_broker_json(resp, 200,
                   json_pack("{s:I, s:I, s:o, s:o, s:o}", "old", (json_int_t)old_size, "new",
                             (json_int_t)new_size, "old_root", hex_json(old_root), "new_root",
                             hex_json(new_root), "proof", proof_json(proof, n)));
}

/*
 * "<N>[.p/<W>]" of a tile path: N as C2SP writes it (groups of three digits, all but the
 * last prefixed with 'x': x001/x234/067), W in 1..255 for a partial tile (else 256).
 */
static bool parse_tile_index(const char *p, uint64_t *n, unsigned *width)
{
    uint64_t v = 0;
    unsigned groups = 0;
    for (;;) {
        bool is_x = *p == 'x';
        p += is_x;
        if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0'
              && p[2] <= '9')
            || groups == 7) {
            return false;
        }
        v = v * 1000 + (uint64_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
        p += 3;
        groups++;
        if (!is_x) {
            break;
        }
        if (*p++ != '/') {
            return false;
        }
    }
    *n = v;
    *width = 256;
    if (*p == '\0') {
        return true;
    }
    if (strncmp(p, ".p/", 3) != 0) {
        return false;
    }
    uint64_t w = 0;
    if (!parse_u64(p + 3, &w) || w == 0 || w > 255 || p[3] == '0') {
        return false;
    }
    *width = (unsigned)w;
    return true;
}

/* tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>] (C2SP tlog-tiles). */
static void tile(struct cs_broker *b, const char *p, struct cs_http_resp *resp)
{
    bool is_entries = strncmp(p, "entries/", 8) == 0;
    unsigned L = 0;
    if (!is_entries) {
        if (!(p[0] >= '0' && p[0] <= '7' && p[1] == '/')) {
            cs_broker_error(resp, 404, "NotFound", "no such tile");
            return;
        }
        L = (unsigned)(p[0] - '0');
    }
    uint64_t n = 0;
    unsigned width = 0;
    if (!parse_tile_index(p + (is_entries ? 8 : 2), &n, &width)) {
        cs_broker_error(resp, 404, "NotFound", "no such tile");
        return;
    }
    cs_res r = is_entries ? cs_log_entry_bundle(b->log, n, width, &resp->body)
                          : cs_log_tile(b->log, L, n, width, &resp->body);
    if (!cs_ok(r)) {
        cs_http_resp_clear(resp);
        cs_broker_error(resp, r.code == CS_E_NOT_FOUND || r.code == CS_E_ARG ? 404 : 500,
                        "NotFound", "no such tile");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/octet-stream";
}

void cs_logapi_route(struct cs_broker *b, const struct cs_http_req *req, const char *sub,
                     struct cs_http_resp *resp)
{
    if (strcmp(sub, "checkpoint") == 0) {
        checkpoint(b, resp);
    } else if (strncmp(sub, "entry/", 6) == 0) {
        entry(b, sub + 6, resp);
    } else if (strcmp(sub, "proof/inclusion") == 0) {
        inclusion(b, req, resp);
    } else if (strcmp(sub, "proof/consistency") == 0) {
        consistency(b, req, resp);
    } else if (strncmp(sub, "tile/", 5) == 0) {
        tile(b, sub + 5, resp);
    } else {
        cs_broker_error(resp, 404, "NotFound", "no such log route");
    }
}
