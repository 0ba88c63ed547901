/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the real-evidence case walkers and damage tests (cs_cases.h). */
#include "cs_cases.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>

#include "core/cs_time.h"
#include "cs_test.h"

#define CASE_FILE_MAX (4u << 20)

void cs_case_files_load(const char *dir, const char *const *names, size_t n,
                        struct cs_case_files *cf)
{
    if (n > CS_CASE_FILES_MAX) {
        abort();
    }
    *cf = (struct cs_case_files){ .names = names, .n = n };
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        (void)cs_ok(cs_file_read(path, CASE_FILE_MAX, &cf->f[i])); /* absent files stay empty */
    }
}

void cs_case_files_clear(struct cs_case_files *cf)
{
    for (size_t i = 0; i < cf->n; i++) {
        cs_blob_clear(&cf->f[i]);
    }
}

struct custos_bytes cs_case_bytes(const struct cs_case_files *cf, size_t i)
{
    return (struct custos_bytes){ cf->f[i].p, cf->f[i].len };
}

static bool mutate_blob(struct cs_blob *b, const json_t *m)
{
    json_int_t off = json_integer_value(json_object_get(m, "offset"));
    EXPECT_TRUE(off >= 0 && (size_t)off < b->len);
    if (off < 0 || (size_t)off >= b->len) {
        return false;
    }
    const json_t *add = json_object_get(m, "add");
    const json_t *set = json_object_get(m, "set");
    if (add != NULL) {
        b->p[off] = (uint8_t)(b->p[off] + json_integer_value(add));
    } else {
        b->p[off] = (uint8_t)json_integer_value(set);
    }
    return true;
}

void cs_case_mutate(struct cs_case_files *cf, const json_t *m)
{
    const char *file = json_string_value(json_object_get(m, "file"));
    for (size_t i = 0; i < cf->n; i++) {
        if (file != NULL && strcmp(cf->names[i], file) == 0) {
            (void)mutate_blob(&cf->f[i], m);
            return;
        }
    }
    fprintf(stderr, "mutation names unknown file %s\n", file ? file : "(null)");
    EXPECT_TRUE(false);
}

int cs_case_each_variant(const char *dir, const json_t *cj, int64_t at, const char *const *names,
                         size_t n, cs_case_variant_fn fn, void *ctx)
{
    size_t i;
    const json_t *var;
    json_array_foreach(json_object_get(cj, "variants"), i, var)
    {
        struct cs_case_files cf;
        cs_case_files_load(dir, names, n, &cf);
        const json_t *m = json_object_get(var, "mutate");
        if (m != NULL) {
            cs_case_mutate(&cf, m);
        }
        fn(&cf, json_string_value(json_object_get(var, "desc")), json_object_get(var, "expect"),
           cs_case_instant(var, at), ctx);
        cs_case_files_clear(&cf);
    }
    return (int)json_array_size(json_object_get(cj, "variants"));
}

int64_t cs_case_instant(const json_t *obj, int64_t fallback)
{
    const char *s = json_string_value(json_object_get(obj, "at"));
    int64_t t = fallback;
    if (s != NULL && !cs_ok(cs_time_parse(s, strlen(s), &t))) {
        fprintf(stderr, "bad instant %s\n", s);
        abort();
    }
    return t;
}

int64_t cs_case_time(const json_t *s)
{
    int64_t t = 0;
    const char *v = json_string_value(s);
    if (v == NULL || !cs_ok(cs_time_parse(v, strlen(v), &t))) {
        abort();
    }
    return t;
}

json_t *cs_case_verdict_json(const struct custos_verdict *v)
{
    char *text = NULL;
    json_t *j = NULL;
    if (v != NULL && cs_ok(custos_verdict_to_json(v, 0, &text))) {
        j = json_loads(text, 0, NULL);
        custos_free(text);
    }
    return j;
}

bool cs_case_class_matches(const json_t *expect, cs_code code)
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

bool cs_case_check_code(const char *label, const json_t *expect, cs_code code)
{
    bool want_ok = json_is_true(json_object_get(expect, "verified"));
    if (want_ok != (code == CS_OK)) {
        fprintf(stderr, "%s: verified=%d expected, got %s\n", label, want_ok,
                custos_code_name(code));
        EXPECT_TRUE(want_ok == (code == CS_OK));
        return false;
    }
    if (!want_ok && !cs_case_class_matches(expect, code)) {
        fprintf(stderr, "%s: class %s, expected %s\n", label, custos_code_class(code),
                json_string_value(json_object_get(expect, "error_class")));
        EXPECT_TRUE(cs_case_class_matches(expect, code));
    }
    return true;
}

/* Equal, or with is_subset for objects: every published entry equal (got may hold more). */
static bool claim_matches(json_t *want, const json_t *got, bool is_subset)
{
    if (!is_subset || !json_is_object(want)) {
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

void cs_case_check_claims(const char *label, const json_t *expect, const json_t *verdict,
                          bool is_subset)
{
    const json_t *claims = json_object_get(verdict, "claims");
    const json_t *dbg = json_object_get(expect, "debug");
    if (dbg != NULL) {
        EXPECT_TRUE(json_equal(dbg, json_object_get(claims, "debug")));
    }
    const char *key;
    json_t *want;
    json_object_foreach(json_object_get(expect, "claims"), key, want)
    {
        const json_t *got = json_object_get(claims, key);
        if (!claim_matches(want, got, is_subset)) {
            char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
            fprintf(stderr, "%s: claim %s = %s\n", label, key, g ? g : "(absent)");
            free(g);
            EXPECT_TRUE(claim_matches(want, got, is_subset));
        }
    }
}

static const char *evidence_dir(void)
{
    const char *shared = tv_shared_dir();
    if (shared == NULL) {
        printf("SKIP: ../shared/testdata/evidence is absent\n");
        exit(CS_TEST_SKIP_CODE);
    }
    return shared;
}

static bool names_platform(const json_t *cj, const char *const *platforms)
{
    const char *platform = json_string_value(json_object_get(cj, "platform"));
    for (size_t i = 0; platform != NULL && platforms[i] != NULL; i++) {
        if (strcmp(platform, platforms[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int run_one(const char *dir, const char *id, const char *const *platforms, cs_case_fn fn,
                   void *ctx)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/case.json", dir);
    if (access(path, R_OK) != 0) {
        return 0;
    }
    json_error_t err;
    json_t *cj = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    EXPECT_TRUE(cj != NULL);
    if (cj == NULL) {
        return 0;
    }
    int ran = names_platform(cj, platforms) ? fn(dir, id, cj, ctx) : 0;
    json_decref(cj);
    return ran;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int cs_case_walk(const char *const *platforms, cs_case_fn fn, void *ctx)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/testdata/evidence", evidence_dir());
    struct dirent **names = NULL;
    int n = scandir(base, &names, NULL, by_name);
    EXPECT_TRUE(n > 0);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char dir[4096 + 256];
            snprintf(dir, sizeof dir, "%s/%s", base, names[i]->d_name);
            ran += run_one(dir, names[i]->d_name, platforms, fn, ctx);
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

json_t *cs_case_open(const char *id, char *dir, size_t dir_size)
{
    snprintf(dir, dir_size, "%s/testdata/evidence/%s", evidence_dir(), id);
    char path[8192];
    snprintf(path, sizeof path, "%s/case.json", dir);
    json_t *cj = json_load_file(path, 0, NULL);
    if (cj == NULL) {
        abort();
    }
    return cj;
}

void cs_case_window(const json_t *cj, int64_t *at, int64_t *not_before, int64_t *not_after)
{
    *at = cs_case_time(json_object_get(cj, "at"));
    const json_t *w = json_object_get(cj, "window");
    *not_before = cs_case_time(json_object_get(w, "not_before"));
    *not_after = cs_case_time(json_object_get(w, "not_after"));
}

bool cs_case_flip_in_pem_cert(uint8_t *pem, size_t len, size_t n, size_t der_off, bool from_end)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    uint8_t *p = pem;
    uint8_t *stop = pem + len;
    for (size_t i = 0;; i++) {
        p = memmem(p, (size_t)(stop - p), begin, sizeof begin - 1);
        if (p == NULL) {
            return false;
        }
        p += sizeof begin - 1;
        if (i == n) {
            break;
        }
    }
    uint8_t *e = memmem(p, (size_t)(stop - p), end, sizeof end - 1);
    if (e == NULL) {
        return false;
    }
    char b64[8192] = { 0 };
    size_t nb = 0;
    for (uint8_t *x = p; x < e && nb < sizeof b64 - 1; x++) {
        if (*x != '\n' && *x != '\r') {
            b64[nb++] = (char)*x;
        }
    }
    unsigned char der[6144];
    int dl = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)nb);
    size_t pad = nb >= 2 ? (size_t)(b64[nb - 1] == '=') + (size_t)(b64[nb - 2] == '=') : 0;
    if (dl <= 0 || (size_t)dl <= der_off + pad) {
        return false;
    }
    size_t der_len = (size_t)dl - pad;
    der[from_end ? der_len - 1 - der_off : der_off] ^= 0x01;
    char out[8192];
    int ol = EVP_EncodeBlock((unsigned char *)out, der, (int)der_len);
    if (ol != (int)nb) {
        return false;
    }
    size_t j = 0;
    for (uint8_t *x = p; x < e; x++) {
        if (*x != '\n' && *x != '\r') {
            *x = (uint8_t)out[j++];
        }
    }
    return true;
}

void cs_case_expect_same_verdict(const struct custos_verdict *v, char **first)
{
    char *text = NULL;
    EXPECT_OK(custos_verdict_to_json(v, 0, &text));
    if (*first == NULL) {
        *first = text;
    } else {
        EXPECT_STR_EQ(text, *first);
        custos_free(text);
    }
}

void cs_case_two_threads(void *(*fn)(void *), void *arg0, void *arg1)
{
    void *args[2] = { arg0, arg1 };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(pthread_create(&t[i], NULL, fn, args[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
}
