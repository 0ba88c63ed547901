/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * tpm is verified at its instant with the nonce its case.json publishes
 * (expect.claims.nonce), and the verdict, error class (or one of error_class_alt), debug
 * flag and published claims are compared with case.json, including its variants (byte
 * mutations of any file, other instants). Each case runs twice: through the pieces API
 * (custos_tpm_trust_new + custos_tpm_verify) and through the directory loader the CLI
 * uses, with identical verdicts. Expectations are read from the files, never copied here.
 */
#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/tpm.h"

enum { F_QUOTE, F_SIG, F_PCRS, F_AK_CERT, F_CA_CHAIN, F_ANCHOR, F_AK_PUB, N_FILES };
static const char *const file_names[N_FILES] = {
    [F_QUOTE] = "quote.bin",     [F_SIG] = "signature.bin",     [F_PCRS] = "pcrs.json",
    [F_AK_CERT] = "ak_cert.der", [F_CA_CHAIN] = "ca_chain.pem", [F_ANCHOR] = "trust_anchor.pem",
    [F_AK_PUB] = "ak_pub.pem",
};

struct case_files {
    struct cs_blob f[N_FILES];
};

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when the trust failed */
};

static void load_files(const char *dir, struct case_files *cf)
{
    for (size_t i = 0; i < N_FILES; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
        cf->f[i] = (struct cs_blob){ 0 };
        (void)cs_ok(cs_file_read(path, 4u << 20, &cf->f[i])); /* absent files stay empty */
    }
}

static void clear_files(struct case_files *cf)
{
    for (size_t i = 0; i < N_FILES; i++) {
        cs_blob_clear(&cf->f[i]);
    }
}

static struct custos_bytes by(const struct case_files *cf, size_t i)
{
    return (struct custos_bytes){ cf->f[i].p, cf->f[i].len };
}

static json_t *verdict_json(const struct custos_verdict *v)
{
    char *text = NULL;
    json_t *j = NULL;
    if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        j = json_loads(text, 0, NULL);
        custos_free(text);
    }
    return j;
}

static struct outcome run(const struct case_files *cf, const struct custos_bytes *nonce, int64_t at)
{
    struct custos_tpm_trust_src src = { 0 };
    if (cf->f[F_AK_PUB].p != NULL) {
        src.ak_pub = by(cf, F_AK_PUB);
    } else {
        src.trust_anchor = by(cf, F_ANCHOR);
        src.ca_chain = by(cf, F_CA_CHAIN);
    }
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_tpm_trust *t = NULL;
    cs_res r = custos_tpm_trust_new(&src, &diag, &t);
    if (!cs_ok(r)) {
        o.code = r.code;
        return o;
    }
    struct custos_tpm_evidence ev = {
        .quote = by(cf, F_QUOTE),
        .signature = by(cf, F_SIG),
        .pcrs = by(cf, F_PCRS),
        .ak_cert = by(cf, F_AK_CERT),
    };
    struct custos_verdict *v = NULL;
    r = custos_tpm_verify(t, &ev, nonce, at, &v);
    o.code = r.code;
    o.verdict = verdict_json(v);
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    custos_verdict_free(v);
    custos_tpm_trust_free(t);
    return o;
}

/* The same case through the directory loader (unmutated files only). */
static struct outcome run_dir(const char *dir, const struct case_files *cf,
                              const struct custos_bytes *nonce, int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_tpm_dir *d = NULL;
    cs_res r = custos_tpm_dir_load(dir, &diag, &d);
    if (!cs_ok(r)) {
        o.code = r.code;
        return o;
    }
    struct custos_verdict *v = NULL;
    r = custos_tpm_dir_verify(d, cf->f[F_QUOTE].p, cf->f[F_QUOTE].len, nonce, at, &v);
    o.code = r.code;
    o.verdict = verdict_json(v);
    custos_verdict_free(v);
    custos_tpm_dir_free(d);
    return o;
}

static bool class_matches(const json_t *expect, cs_code code)
{
    const char *cls = custos_code_class(code);
    const char *want = json_string_value(json_object_get(expect, "error_class"));
    if (want != NULL && strcmp(want, cls) == 0) {
        return true;
    }
    size_t i;
    const json_t *alt;
    json_array_foreach (json_object_get(expect, "error_class_alt"), i, alt) {
        if (strcmp(json_string_value(alt), cls) == 0) {
            return true;
        }
    }
    return false;
}

static void check(const char *id, const char *what, const json_t *expect, struct outcome o)
{
    bool want_ok = json_is_true(json_object_get(expect, "verified"));
    char label[128];
    snprintf(label, sizeof label, "%s %s", id, what);
    if (want_ok != (o.code == CS_OK)) {
        fprintf(stderr, "%s: verified=%d expected, got %s\n", label, want_ok,
                custos_code_name(o.code));
        EXPECT_TRUE(want_ok == (o.code == CS_OK));
        return;
    }
    if (!want_ok && !class_matches(expect, o.code)) {
        fprintf(stderr, "%s: class %s, expected %s\n", label, custos_code_class(o.code),
                json_string_value(json_object_get(expect, "error_class")));
        EXPECT_TRUE(class_matches(expect, o.code));
    }
    if (o.verdict == NULL) {
        return;
    }
    EXPECT_STR_EQ(json_string_value(json_object_get(o.verdict, "platform")), "tpm");
    const json_t *claims = json_object_get(o.verdict, "claims");
    const json_t *dbg = json_object_get(expect, "debug");
    if (dbg != NULL) {
        EXPECT_TRUE(json_equal(dbg, json_object_get(claims, "debug")));
    }
    const char *key;
    const json_t *want;
    json_object_foreach ((json_t *)json_object_get(expect, "claims"), key, want) {
        const json_t *got = json_object_get(claims, key);
        if (!json_equal(want, got)) {
            char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
            fprintf(stderr, "%s: claim %s = %s\n", label, key, g ? g : "(absent)");
            free(g);
            EXPECT_TRUE(json_equal(want, got));
        }
    }
}

static int64_t instant(const json_t *obj, int64_t fallback)
{
    const char *s = json_string_value(json_object_get(obj, "at"));
    int64_t t = fallback;
    if (s != NULL && !cs_ok(cs_time_parse(s, strlen(s), &t))) {
        fprintf(stderr, "bad instant %s\n", s);
        abort();
    }
    return t;
}

/* The nonce a case publishes (expect.claims.nonce), decoded; false when it has none. */
static bool expected_nonce(const json_t *expect, uint8_t buf[64], struct custos_bytes *out)
{
    const json_t *n = json_object_get(json_object_get(expect, "claims"), "nonce");
    if (!json_is_string(n)) {
        return false;
    }
    size_t len = json_string_length(n);
    EXPECT_TRUE(len % 2 == 0 && len / 2 <= 64);
    EXPECT_OK(cs_hex_decode(json_string_value(n), len, buf, len / 2));
    *out = (struct custos_bytes){ buf, len / 2 };
    return true;
}

/* Applies {"file","offset","add"|"set"} to a copy of the files. */
static void mutate(struct case_files *cf, const json_t *m)
{
    const char *file = json_string_value(json_object_get(m, "file"));
    json_int_t off = json_integer_value(json_object_get(m, "offset"));
    for (size_t i = 0; i < N_FILES; i++) {
        if (file == NULL || strcmp(file_names[i], file) != 0) {
            continue;
        }
        EXPECT_TRUE(off >= 0 && (size_t)off < cf->f[i].len);
        if (off < 0 || (size_t)off >= cf->f[i].len) {
            return;
        }
        const json_t *add = json_object_get(m, "add");
        const json_t *set = json_object_get(m, "set");
        if (add != NULL) {
            cf->f[i].p[off] = (uint8_t)(cf->f[i].p[off] + json_integer_value(add));
        } else {
            cf->f[i].p[off] = (uint8_t)json_integer_value(set);
        }
        return;
    }
    fprintf(stderr, "mutation names unknown file %s\n", file ? file : "(null)");
    EXPECT_TRUE(false);
}

static int run_case(const char *dir, const char *id)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/case.json", dir);
    json_t *cj = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    EXPECT_TRUE(cj != NULL);
    const char *platform = json_string_value(json_object_get(cj, "platform"));
    if (platform == NULL || strcmp(platform, "tpm") != 0) {
        json_decref(cj);
        return 0;
    }
    int64_t at = instant(cj, 0);
    const json_t *expect = json_object_get(cj, "expect");
    uint8_t nbuf[64];
    struct custos_bytes nonce;
    bool has_nonce = expected_nonce(expect, nbuf, &nonce);
    struct case_files cf;
    load_files(dir, &cf);
    struct outcome o = run(&cf, has_nonce ? &nonce : NULL, at);
    check(id, "", expect, o);
    struct outcome od = run_dir(dir, &cf, has_nonce ? &nonce : NULL, at);
    EXPECT_EQ(od.code, o.code);
    EXPECT_TRUE(json_equal(od.verdict, o.verdict));
    json_decref(od.verdict);
    json_decref(o.verdict);

    size_t i;
    const json_t *var;
    json_array_foreach (json_object_get(cj, "variants"), i, var) {
        struct case_files mcf;
        load_files(dir, &mcf);
        const json_t *m = json_object_get(var, "mutate");
        if (m != NULL) {
            mutate(&mcf, m);
        }
        const json_t *vexp = json_object_get(var, "expect");
        uint8_t vbuf[64];
        struct custos_bytes vnonce;
        bool has_vnonce = expected_nonce(vexp, vbuf, &vnonce);
        const struct custos_bytes *use = has_vnonce ? &vnonce : has_nonce ? &nonce : NULL;
        struct outcome vo = run(&mcf, use, instant(var, at));
        check(id, json_string_value(json_object_get(var, "desc")), vexp, vo);
        json_decref(vo.verdict);
        clear_files(&mcf);
    }
    clear_files(&cf);
    json_decref(cj);
    return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_every_tpm_case(void)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        printf("SKIP: ../shared/testdata/evidence is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    char base[4096];
    snprintf(base, sizeof base, "%s/testdata/evidence", shared);
    struct dirent **names = NULL;
    int n = scandir(base, &names, NULL, by_name);
    EXPECT_TRUE(n > 0);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char dir[4096 + 256];
            snprintf(dir, sizeof dir, "%s/%s", base, names[i]->d_name);
            char cj[sizeof dir + 16];
            snprintf(cj, sizeof cj, "%s/case.json", dir);
            if (access(cj, R_OK) == 0) {
                ran += run_case(dir, names[i]->d_name);
            }
        }
        free(names[i]);
    }
    free(names);
    printf("%d TPM cases checked\n", ran);
    EXPECT_TRUE(ran >= 6); /* the folder holds 6 GCE vTPM cases today */
}

CS_TEST_MAIN(CS_TEST(test_every_tpm_case))
