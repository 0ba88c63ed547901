/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos fetch: one KBS v0.4.0 round trip as a guest makes it, from the command line.
 *   custos fetch --url URL --resource REPO/TYPE/TAG --attester sim --data-dir DIR
 *                [--key EC-P256|EC-P384|EC-P521|RSA-3072] [--cacert PEM] [--out FILE]
 * auth -> a fresh TEE key pair -> evidence bound to the nonce and the key -> attest ->
 * resource -> JWE decrypted with the TEE private key, which never leaves this process.
 * Attester "sim" is the development attester of DIR (docs/dev-attester.md).
 */
#include <jansson.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cs_b64.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "core/cs_time.h"
#include "crypto/cs_jose.h"
#include "crypto/cs_kbs_binding.h"
#include "net/http_client.h"
#include "sim/dev_attester.h"

struct fetch_opts {
    const char *url;
    const char *resource;
    const char *attester;
    const char *data_dir;
    const char *key_kind;
    const char *cacert;
    const char *out;
};

static void fetch_usage(FILE *f)
{
    fputs("usage: custos fetch --url URL --resource REPO/TYPE/TAG --attester sim --data-dir DIR\n"
          "                    [--key EC-P256|EC-P384|EC-P521|RSA-3072] [--cacert PEM]"
          " [--out FILE]\n",
          f);
}

static int say(const char *what, const struct cs_httpc_resp *r)
{
    fprintf(stderr, "custos fetch: %s: HTTP %ld %.*s\n", what, r->status,
            (int)(r->body.len < 300 ? r->body.len : 300),
            r->body.p != NULL ? (const char *)r->body.p : "");
    return CLI_REJECTED;
}

static cs_res post_json(const struct fetch_opts *o, const char *path, const char *cookie,
                        json_t *body, struct cs_httpc_resp *resp)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", o->url, path);
    char *text = json_dumps(body, JSON_COMPACT);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    struct cs_httpc_req req = { .method = "POST", .url = url, .cookie = cookie,
                                .content_type = "application/json",
                                .body = (const uint8_t *)text, .body_len = strlen(text),
                                .cacert = o->cacert };
    cs_res r = cs_httpc_do(&req, resp);
    cs_free(text);
    return r;
}

/* The attestation body: runtime-data and a quote from the development attester. */
static cs_res sim_evidence(const struct fetch_opts *o, const char *nonce, json_t *pub,
                           json_t **body)
{
    struct cs_dev_attester *a = NULL;
    CS_TRY(cs_dev_attester_open(o->data_dir, false, cs_time_now(), &a));
    struct cs_dev_quote_opts qo = { 0 };
    cs_res r = cs_kbs_report_data(nonce, pub, NULL, qo.report_data);
    uint8_t *quote = NULL;
    size_t len = 0;
    if (cs_ok(r)) {
        r = cs_dev_attester_quote(a, &qo, &quote, &len);
    }
    cs_dev_attester_free(a);
    CS_TRY(r);
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *b64 = NULL;
    r = cs_alloc(1, cap, (void **)&b64);
    if (cs_ok(r)) {
        r = cs_b64_encode(quote, len, b64, cap);
    }
    cs_free(quote);
    if (cs_ok(r)) {
        *body = json_pack("{s:{s:s, s:O}, s:{s:s, s:n}}", "runtime-data", "nonce", nonce,
                          "tee-pubkey", pub, "tee-evidence", "quote", b64, "cc_eventlog");
        r = *body != NULL ? CS_SUCCESS : (cs_res){ .code = CS_E_NOMEM };
    }
    cs_free(b64);
    return r;
}

static int fetch(const struct fetch_opts *o)
{
    json_t *req = json_pack("{s:s, s:s, s:{}}", "version", "0.4.0", "tee", "tdx",
                            "extra-params");
    struct cs_httpc_resp resp;
    cs_res r = post_json(o, "/kbs/v0/auth", NULL, req, &resp);
    json_decref(req);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos fetch: cannot reach %s\n", o->url);
        return CLI_USAGE;
    }
    if (resp.status != 200) {
        int rc = say("auth", &resp);
        cs_buf_clear(&resp.body);
        return rc;
    }
    char cookie[512];
    snprintf(cookie, sizeof cookie, "%s", resp.set_cookie);
    CS_AUTO(cs_json_decrefp) json_t *challenge = NULL;
    r = cs_json_load((struct cs_cur){ .p = resp.body.p, .left = resp.body.len }, 4096,
                     &challenge);
    cs_buf_clear(&resp.body);
    const char *nonce = NULL;
    if (cs_ok(r)) {
        r = cs_json_get_str(challenge, "nonce", 128, &nonce, NULL);
    }
    CS_AUTO(cs_json_decrefp) json_t *priv = NULL;
    CS_AUTO(cs_json_decrefp) json_t *pub = NULL;
    CS_AUTO(cs_json_decrefp) json_t *body = NULL;
    if (cs_ok(r)) {
        r = cs_tee_keypair_generate(o->key_kind, &priv, &pub);
    }
    if (cs_ok(r)) {
        r = sim_evidence(o, nonce, pub, &body);
    }
    if (!cs_ok(r)) {
        fprintf(stderr, "custos fetch: cannot make evidence (%s)\n", custos_code_name(r.code));
        return CLI_USAGE;
    }
    r = post_json(o, "/kbs/v0/attest", cookie, body, &resp);
    if (!cs_ok(r) || resp.status != 200) {
        int rc = cs_ok(r) ? say("attest", &resp) : CLI_USAGE;
        cs_buf_clear(&resp.body);
        return rc;
    }
    cs_buf_clear(&resp.body);
    char url[2048];
    snprintf(url, sizeof url, "%s/kbs/v0/resource/%s", o->url, o->resource);
    struct cs_httpc_req get = { .method = "GET", .url = url, .cookie = cookie,
                                .cacert = o->cacert };
    r = cs_httpc_do(&get, &resp);
    if (!cs_ok(r) || resp.status != 200) {
        int rc = cs_ok(r) ? say("resource", &resp) : CLI_USAGE;
        cs_buf_clear(&resp.body);
        return rc;
    }
    uint8_t *pt = NULL;
    size_t len = 0;
    r = cs_jwe_decrypt(priv, (const char *)resp.body.p, resp.body.len, &pt, &len);
    fprintf(stderr, "custos fetch: released at audit log index %s\n", resp.log_index);
    cs_buf_clear(&resp.body);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos fetch: the JWE does not decrypt (%s)\n", custos_code_name(r.code));
        return CLI_REJECTED;
    }
    /* the secret goes to a new file only its owner can read */
    int fd = o->out != NULL ? open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                            : STDOUT_FILENO;
    bool is_ok = fd >= 0 && write(fd, pt, len) == (ssize_t)len;
    if (fd >= 0 && fd != STDOUT_FILENO) {
        is_ok &= close(fd) == 0;
    }
    cs_free_wipe(pt, len);
    return is_ok ? CLI_OK : CLI_USAGE;
}

int cmd_fetch(int argc, char **argv)
{
    struct fetch_opts o = { .key_kind = "EC-P256", .attester = "sim" };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = strcmp(a, "--url") == 0        ? &o.url
                           : strcmp(a, "--resource") == 0 ? &o.resource
                           : strcmp(a, "--attester") == 0 ? &o.attester
                           : strcmp(a, "--data-dir") == 0 ? &o.data_dir
                           : strcmp(a, "--key") == 0      ? &o.key_kind
                           : strcmp(a, "--cacert") == 0   ? &o.cacert
                           : strcmp(a, "--out") == 0      ? &o.out
                                                          : NULL;
        if (dst == NULL || v == NULL) {
            fetch_usage(stderr);
            return CLI_USAGE;
        }
        *dst = v;
        i++;
    }
    if (o.url == NULL || o.resource == NULL || o.data_dir == NULL
        || strcmp(o.attester, "sim") != 0) {
        fetch_usage(stderr);
        return CLI_USAGE;
    }
    return fetch(&o);
}
