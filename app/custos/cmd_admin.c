/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos admin: drives custosd's admin API (docs/api.md).
 *   custos admin --url URL --token-file F [--cacert PEM] [--json] <command>
 *     resource set REPO/TYPE/TAG --file F | resource delete REPO/TYPE/TAG | resource list
 *     policy set FILE | policy get
 *     refvals add SET VALUE... [--source S] | refvals remove SET VALUE... | refvals list
 *     sessions
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "net/http_client.h"

#define TOKEN_FILE_MAX 1024
#define VALUE_FILE_MAX (1024u * 1024u)

struct admin_opts {
    const char *url;
    const char *token_file;
    const char *cacert;
    bool is_json;
    char token[TOKEN_FILE_MAX];
};

static void admin_usage(FILE *f)
{
    fputs("usage: custos admin --url URL --token-file F [--cacert PEM] [--json] <command>\n"
          "  resource set REPO/TYPE/TAG --file F | resource delete REPO/TYPE/TAG | resource list\n"
          "  policy set FILE | policy get\n"
          "  refvals add SET VALUE... [--source S] | refvals remove SET VALUE... | refvals list\n"
          "  sessions\n",
          f);
}

static int load_token(struct admin_opts *o)
{
    struct cs_blob f = { 0 };
    if (!cs_ok(cs_file_read(o->token_file, TOKEN_FILE_MAX - 1, &f))) {
        fprintf(stderr, "custos admin: cannot read %s\n", o->token_file);
        return CLI_USAGE;
    }
    size_t n = f.len;
    while (n > 0 && (f.p[n - 1] == '\n' || f.p[n - 1] == '\r' || f.p[n - 1] == ' ')) {
        n--;
    }
    memcpy(o->token, f.p, n);
    o->token[n] = '\0';
    cs_wipe(f.p, f.len);
    cs_blob_clear(&f);
    return n > 0 ? CLI_OK : CLI_USAGE;
}

/* One admin call; prints the JSON response (--json) or a one-line summary. */
static int call(struct admin_opts *o, const char *method, const char *path,
                const uint8_t *body, size_t len, const char *content_type, const char *summary)
{
    char url[2048];
    int n = snprintf(url, sizeof url, "%s/custos/v1/admin/%s", o->url, path);
    if (n <= 0 || (size_t)n >= sizeof url) {
        fputs("custos admin: URL too long\n", stderr);
        return CLI_USAGE;
    }
    struct cs_httpc_req req = {
        .method = method,
        .url = url,
        .bearer = o->token,
        .content_type = content_type,
        .body = body,
        .body_len = len,
        .cacert = o->cacert,
    };
    struct cs_httpc_resp resp;
    cs_res r = cs_httpc_do(&req, &resp);
    if (!cs_ok(r)) {
        fprintf(stderr, "custos admin: cannot reach %s (%s)\n", o->url, custos_code_name(r.code));
        return CLI_USAGE;
    }
    bool is_ok = resp.status >= 200 && resp.status < 300;
    if (o->is_json || !is_ok || summary == NULL) {
        fwrite(resp.body.p != NULL ? (const char *)resp.body.p : "", 1, resp.body.len,
               is_ok ? stdout : stderr);
        if (resp.body.len > 0 && resp.body.p[resp.body.len - 1] != '\n') {
            fputc('\n', is_ok ? stdout : stderr);
        }
    } else {
        printf("%s\n", summary);
    }
    if (!is_ok) {
        fprintf(stderr, "custos admin: HTTP %ld\n", resp.status);
    }
    cs_buf_clear(&resp.body);
    return is_ok ? CLI_OK : CLI_REJECTED;
}

static int resource_cmd(struct admin_opts *o, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        return call(o, "GET", "resources", NULL, 0, NULL, NULL);
    }
    if (argc < 2) {
        admin_usage(stderr);
        return CLI_USAGE;
    }
    char path[600];
    snprintf(path, sizeof path, "resource/%s", argv[1]);
    if (strcmp(argv[0], "delete") == 0 && argc == 2) {
        return call(o, "DELETE", path, NULL, 0, NULL, "deleted");
    }
    if (strcmp(argv[0], "set") == 0 && argc == 4 && strcmp(argv[2], "--file") == 0) {
        struct cs_blob f = { 0 };
        if (!cs_ok(cs_file_read(argv[3], VALUE_FILE_MAX, &f))) {
            fprintf(stderr, "custos admin: cannot read %s\n", argv[3]);
            return CLI_USAGE;
        }
        int rc = call(o, "PUT", path, f.p, f.len, "application/octet-stream", "stored");
        cs_wipe(f.p, f.len);
        cs_blob_clear(&f);
        return rc;
    }
    admin_usage(stderr);
    return CLI_USAGE;
}

static int policy_cmd(struct admin_opts *o, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "get") == 0) {
        return call(o, "GET", "policy", NULL, 0, NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[0], "set") == 0) {
        struct cs_blob f = { 0 };
        if (!cs_ok(cs_file_read(argv[1], VALUE_FILE_MAX, &f))) {
            fprintf(stderr, "custos admin: cannot read %s\n", argv[1]);
            return CLI_USAGE;
        }
        int rc = call(o, "PUT", "policy", f.p, f.len, "application/json", "policy set");
        cs_blob_clear(&f);
        return rc;
    }
    admin_usage(stderr);
    return CLI_USAGE;
}

static int refvals_cmd(struct admin_opts *o, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        return call(o, "GET", "refvals", NULL, 0, NULL, NULL);
    }
    bool is_add = argc >= 3 && strcmp(argv[0], "add") == 0;
    bool is_remove = argc >= 3 && strcmp(argv[0], "remove") == 0;
    if (!is_add && !is_remove) {
        admin_usage(stderr);
        return CLI_USAGE;
    }
    json_t *values = json_array();
    const char *source = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--source") == 0 && i + 1 < argc && is_add) {
            source = argv[++i];
            continue;
        }
        json_array_append_new(values, json_string(argv[i]));
    }
    json_t *doc = json_pack("{s:s, s:o}", "set", argv[1], "values", values);
    if (doc != NULL && source != NULL) {
        json_object_set_new(doc, "source", json_string(source));
    }
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (body == NULL) {
        fputs("custos admin: values must be UTF-8 text\n", stderr);
        return CLI_USAGE;
    }
    int rc = call(o, "POST", is_add ? "refvals" : "refvals/remove", (const uint8_t *)body,
                  strlen(body), "application/json", is_add ? "added" : "removed");
    cs_free(body);
    return rc;
}

int cmd_admin(int argc, char **argv)
{
    struct admin_opts o = { 0 };
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--url") == 0 && v != NULL) {
            o.url = v;
            i++;
        } else if (strcmp(a, "--token-file") == 0 && v != NULL) {
            o.token_file = v;
            i++;
        } else if (strcmp(a, "--cacert") == 0 && v != NULL) {
            o.cacert = v;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o.is_json = true;
        } else {
            break;
        }
    }
    if (o.url == NULL || o.token_file == NULL || i >= argc) {
        admin_usage(stderr);
        return CLI_USAGE;
    }
    int rc = load_token(&o);
    if (rc != CLI_OK) {
        return rc;
    }
    const char *verb = argv[i];
    int n = argc - i - 1;
    char **rest = argv + i + 1;
    if (strcmp(verb, "resource") == 0) {
        rc = resource_cmd(&o, n, rest);
    } else if (strcmp(verb, "policy") == 0) {
        rc = policy_cmd(&o, n, rest);
    } else if (strcmp(verb, "refvals") == 0) {
        rc = refvals_cmd(&o, n, rest);
    } else if (strcmp(verb, "sessions") == 0 && n == 0) {
        rc = call(&o, "GET", "sessions", NULL, 0, NULL, NULL);
    } else {
        admin_usage(stderr);
        rc = CLI_USAGE;
    }
    cs_wipe(o.token, sizeof o.token);
    return rc;
}
