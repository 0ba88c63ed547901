/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data-driven: every case directory under ../shared/testdata/evidence whose platform is
 * nitro is verified at its instant (document.cbor against trust_anchor.pem, loaded the
 * way `custos verify --collateral DIR` loads it), and the verdict, error class (or one of
 * error_class_alt), debug flag and published claims are compared with its case.json,
 * including every variant (byte mutations and other instants). Expectations are read from
 * the files, never copied into this code. A claim given as an object (pcrs) is compared
 * entry by entry: case.json lists some PCRs, the verdict all of them.
 */
#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_time.h"
#include "cs_test.h"
#include "custos/nitro.h"

#define DOC_FILE "document.cbor"

struct outcome {
    cs_code code;
    json_t *verdict; /* parsed custos_verdict_to_json, or NULL when collateral failed */
};

static struct outcome run(const char *dir, const struct cs_blob *doc, int64_t at)
{
    struct outcome o = { CS_OK, NULL };
    struct custos_diag diag = { 0 };
    struct custos_nitro_collateral *c = NULL;
    cs_res r = custos_nitro_collateral_load_dir(dir, &diag, &c);
    if (!cs_ok(r)) {
        fprintf(stderr, "%s: collateral: %s\n", dir, diag.msg);
        o.code = r.code;
        return o;
    }
    struct custos_verdict *v = NULL;
    r = custos_nitro_verify(c, doc->p, doc->len, NULL, 0, at, &v);
    o.code = r.code;
    char *text = NULL;
    if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        o.verdict = json_loads(text, 0, NULL);
        custos_free(text);
    }
    EXPECT_TRUE(v != NULL);
    EXPECT_EQ(custos_verdict_code(v), r.code);
    char *claims = NULL; /* unverified claims never leave the verdict */
    EXPECT_ERR(custos_verdict_claims_json(v, &claims), r.code == CS_OK ? CS_OK : CS_E_POLICY);
    custos_free(claims);
    custos_verdict_free(v);
    custos_nitro_collateral_free(c);
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

/* Equal, or for objects: every published entry equal (the verdict may hold more). */
static bool claim_matches(json_t *want, const json_t *got)
{
    if (!json_is_object(want)) {
        return json_equal(want, got);
    }
    if (!json_is_object(got)) {
        return false;
    }
    const char *key;
    const json_t *w;
    json_object_foreach(want, key, w)
    {
        if (!json_equal(w, json_object_get(got, key))) {
            return false;
        }
    }
    return true;
}

static void check(const char *id, const char *what, json_t *expect, struct outcome o)
{
    bool want_ok = json_is_true(json_object_get(expect, "verified"));
    char label[96];
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
    EXPECT_TRUE(o.verdict != NULL);
    if (o.verdict == NULL) {
        return;
    }
    if (o.code == CS_OK) {
        EXPECT_STR_EQ(json_string_value(json_object_get(o.verdict, "platform")), "nitro");
    }
    const json_t *claims = json_object_get(o.verdict, "claims");
    const json_t *dbg = json_object_get(expect, "debug");
    if (dbg != NULL) {
        EXPECT_TRUE(json_equal(dbg, json_object_get(claims, "debug")));
    }
    const char *key;
    json_t *want;
    json_object_foreach(json_object_get(expect, "claims"), key, want)
    {
        const json_t *got = json_object_get(claims, key);
        if (!claim_matches(want, got)) {
            char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
            fprintf(stderr, "%s: claim %s = %s\n", label, key, g ? g : "(absent)");
            free(g);
            EXPECT_TRUE(claim_matches(want, got));
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

/*
 * Applies {"file","offset","add"|"set"} to the document (the only file a nitro variant can
 * name besides the anchor, which would make the case a collateral failure).
 */
static void mutate(struct cs_blob *doc, const json_t *m)
{
    const char *file = json_string_value(json_object_get(m, "file"));
    json_int_t off = json_integer_value(json_object_get(m, "offset"));
    EXPECT_TRUE(file != NULL && strcmp(file, DOC_FILE) == 0);
    EXPECT_TRUE(off >= 0 && (size_t)off < doc->len);
    if (file == NULL || strcmp(file, DOC_FILE) != 0 || off < 0 || (size_t)off >= doc->len) {
        return;
    }
    const json_t *add = json_object_get(m, "add");
    const json_t *set = json_object_get(m, "set");
    if (add != NULL) {
        doc->p[off] = (uint8_t)(doc->p[off] + json_integer_value(add));
    } else {
        doc->p[off] = (uint8_t)json_integer_value(set);
    }
}

static int run_case(const char *dir, const char *id, int *n_variants)
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
    if (platform == NULL || strcmp(platform, "nitro") != 0) {
        json_decref(cj);
        return 0;
    }
    snprintf(path, sizeof path, "%s/%s", dir, DOC_FILE);
    struct cs_blob doc = { 0 };
    doc.p = tv_read(path, &doc.len);
    int64_t at = instant(cj, 0);
    struct outcome o = run(dir, &doc, at);
    check(id, "", json_object_get(cj, "expect"), o);
    json_decref(o.verdict);
    size_t i;
    const json_t *var;
    json_array_foreach(json_object_get(cj, "variants"), i, var)
    {
        struct cs_blob m = { 0 };
        m.p = tv_read(path, &m.len);
        const json_t *mut = json_object_get(var, "mutate");
        if (mut != NULL) {
            mutate(&m, mut);
        }
        struct outcome vo = run(dir, &m, instant(var, at));
        check(id, json_string_value(json_object_get(var, "desc")), json_object_get(var, "expect"),
              vo);
        json_decref(vo.verdict);
        cs_blob_clear(&m);
        (*n_variants)++;
    }
    cs_blob_clear(&doc);
    json_decref(cj);
    return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_every_nitro_case(void)
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
    int n_variants = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char dir[4096 + 256];
            snprintf(dir, sizeof dir, "%s/%s", base, names[i]->d_name);
            char cj[sizeof dir + 16];
            snprintf(cj, sizeof cj, "%s/case.json", dir);
            if (access(cj, R_OK) == 0) {
                ran += run_case(dir, names[i]->d_name, &n_variants);
            }
        }
        free(names[i]);
    }
    free(names);
    printf("%d Nitro cases and %d variants checked\n", ran, n_variants);
    EXPECT_TRUE(ran >= 4); /* the folder holds A01, A02, A05 and A07 today */
}

CS_TEST_MAIN(CS_TEST(test_every_nitro_case))
