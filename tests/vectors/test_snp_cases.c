/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * snp is verified at its instant, and the verdict, error class (or one of its
 * error_class_alt), debug flag, product and published claims are compared with its
 * case.json, including its variants (byte mutations and other instants). Expectations are
 * read from the files, never copied into this code. Each case is verified twice: through
 * custos_snp_collateral_load_dir (the CLI's path) and through custos_snp_collateral_new
 * with the files in memory (mutations apply there).
 */
#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/snp.h"

enum { F_REPORT, F_ANCHOR, F_CHAIN, F_VCEK, F_VLEK, F_CRL_DER, F_CRL_PEM, N_FILES };
static const char *const file_names[N_FILES] = {
    [F_REPORT] = "report.bin", [F_ANCHOR] = "trust_anchor.pem", [F_CHAIN] = "ca_chain.pem",
    [F_VCEK] = "vcek.der",     [F_VLEK] = "vlek.der",           [F_CRL_DER] = "crl.der",
    [F_CRL_PEM] = "crl.pem",
};

struct case_files {
    struct cs_blob f[N_FILES];
};

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when the collateral failed */
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

static struct outcome verify_with(struct custos_snp_collateral *c, const struct cs_blob *report,
                                  int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_verdict *v = NULL;
    cs_res r = custos_snp_verify(c, report->p, report->len, at, &v);
    o.code = r.code;
    char *text = NULL;
    if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        o.verdict = json_loads(text, 0, NULL);
        custos_free(text);
    }
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    EXPECT_STR_EQ(custos_verdict_platform(v), "snp");
    custos_verdict_free(v);
    return o;
}

static struct outcome run(const struct case_files *cf, int64_t at)
{
    struct custos_snp_collateral_src src = {
        .trust_anchor = by(cf, F_ANCHOR),
        .ca_chain = by(cf, F_CHAIN),
        .vcek = by(cf, F_VCEK),
        .vlek = by(cf, F_VLEK),
        .crl = cf->f[F_CRL_DER].p != NULL ? by(cf, F_CRL_DER) : by(cf, F_CRL_PEM),
    };
    struct custos_diag diag = { 0 };
    struct custos_snp_collateral *c = NULL;
    cs_res r = custos_snp_collateral_new(&src, &diag, &c);
    if (!cs_ok(r)) {
        EXPECT_TRUE(diag.msg[0] != '\0');
        return (struct outcome){ r.code, NULL };
    }
    struct outcome o = verify_with(c, &cf->f[F_REPORT], at);
    custos_snp_collateral_free(c);
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
    json_array_foreach(json_object_get(expect, "error_class_alt"), i, alt)
    {
        if (strcmp(json_string_value(alt), cls) == 0) {
            return true;
        }
    }
    return false;
}

static void check(const char *id, const char *what, const json_t *expect, const char *product,
                  struct outcome o)
{
    bool want_ok = json_is_true(json_object_get(expect, "verified"));
    char label[160];
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
    const json_t *claims = json_object_get(o.verdict, "claims");
    const json_t *dbg = json_object_get(expect, "debug");
    if (dbg != NULL) {
        EXPECT_TRUE(json_equal(dbg, json_object_get(claims, "debug")));
    }
    if (want_ok && product != NULL) {
        EXPECT_STR_EQ(json_string_value(json_object_get(claims, "product")), product);
    }
    const char *key;
    const json_t *want;
    json_object_foreach((json_t *)json_object_get(expect, "claims"), key, want)
    {
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

/* The CLI's path: custos_snp_collateral_load_dir on the directory itself. */
static void check_load_dir(const char *dir, const char *id, const json_t *expect, int64_t at,
                           const struct case_files *cf)
{
    struct custos_diag diag = { 0 };
    struct custos_snp_collateral *c = NULL;
    cs_res r = custos_snp_collateral_load_dir(dir, &diag, &c);
    if (!cs_ok(r)) {
        check(id, "(load_dir)", expect, NULL, (struct outcome){ r.code, NULL });
        return;
    }
    struct outcome o = verify_with(c, &cf->f[F_REPORT], at);
    check(id, "(load_dir)", expect, NULL, o);
    json_decref(o.verdict);
    custos_snp_collateral_free(c);
}

static int run_case(const char *dir, const char *id)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/case.json", dir);
    json_error_t err;
    json_t *cj = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    EXPECT_TRUE(cj != NULL);
    if (cj == NULL) {
        return 0;
    }
    const char *platform = json_string_value(json_object_get(cj, "platform"));
    if (platform == NULL || strcmp(platform, "snp") != 0) {
        json_decref(cj);
        return 0;
    }
    const char *product = json_string_value(json_object_get(cj, "product"));
    int64_t at = instant(cj, 0);
    struct case_files cf;
    load_files(dir, &cf);
    EXPECT_TRUE(cf.f[F_REPORT].p != NULL);
    struct outcome o = run(&cf, at);
    check(id, "", json_object_get(cj, "expect"), product, o);
    json_decref(o.verdict);
    check_load_dir(dir, id, json_object_get(cj, "expect"), at, &cf);
    size_t i;
    const json_t *var;
    json_array_foreach(json_object_get(cj, "variants"), i, var)
    {
        struct case_files mcf;
        load_files(dir, &mcf);
        const json_t *m = json_object_get(var, "mutate");
        if (m != NULL) {
            mutate(&mcf, m);
        }
        struct outcome vo = run(&mcf, instant(var, at));
        check(id, json_string_value(json_object_get(var, "desc")), json_object_get(var, "expect"),
              product, vo);
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

static void test_every_snp_case(void)
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
    printf("%d SNP cases checked\n", ran);
    EXPECT_TRUE(ran >= 5); /* the folder holds 5 SNP cases today */
}

CS_TEST_MAIN(CS_TEST(test_every_snp_case))
