/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the tests that walk the real evidence cases of ../shared
 * (tests/vectors/test_*_cases.c) and that damage them (tests/vectors/test_*_damage.c):
 * reading a case's files and instants, applying the byte mutations of its variants,
 * comparing an outcome with what case.json expects, and flipping a byte inside a
 * certificate of a PEM text. Failed comparisons count as test failures (cs_test.h).
 */
#ifndef CS_CASES_H
#define CS_CASES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cs_file.h"
#include "custos/dcap.h"
#include "custos/verdict.h"

#define CS_CASE_FILES_MAX 16u

/* The files of one case directory, by name; a file that is absent stays empty. owns: f */
struct cs_case_files {
    const char *const *names; /* borrows: the caller's table of n names */
    size_t n;
    struct cs_blob f[CS_CASE_FILES_MAX];
};

/* Reads dir/names[i] for each i < n (n <= CS_CASE_FILES_MAX; aborts otherwise). */
void cs_case_files_load(const char *dir, const char *const *names, size_t n,
                        struct cs_case_files *cf);
void cs_case_files_clear(struct cs_case_files *cf);
/* File i as the library's byte view. borrows: cf */
struct custos_bytes cs_case_bytes(const struct cs_case_files *cf, size_t i);

/*
 * Applies a variant's {"file","offset","add"|"set"} to the file of that name. An unknown
 * file or an offset outside it is a test failure, and nothing changes.
 */
void cs_case_mutate(struct cs_case_files *cf, const json_t *m);

/*
 * For each entry of case.json's "variants": reads the case's files afresh (names, n as
 * for cs_case_files_load), applies the variant's "mutate" when it has one, and calls fn
 * with the files, the variant's "desc", its "expect" and its instant (its "at", else at).
 * Returns the number of variants.
 */
typedef void (*cs_case_variant_fn)(const struct cs_case_files *cf, const char *desc,
                                   const json_t *expect, int64_t at, void *ctx);
int cs_case_each_variant(const char *dir, const json_t *cj, int64_t at, const char *const *names,
                         size_t n, cs_case_variant_fn fn, void *ctx);

/* obj's "at" (RFC 3339), or fallback when it has none; aborts on a malformed instant. */
int64_t cs_case_instant(const json_t *obj, int64_t fallback);
/* An RFC 3339 JSON string as seconds since the epoch; aborts when s is not one. */
int64_t cs_case_time(const json_t *s);

/* The verdict as parsed JSON (custos_verdict_to_json), or NULL when v is NULL. */
json_t *cs_case_verdict_json(const struct custos_verdict *v);

/* Whether code's class is expect.error_class or one of expect.error_class_alt. */
bool cs_case_class_matches(const json_t *expect, cs_code code);

/*
 * Compares code with expect.verified and, for a rejection, with the expected class,
 * printing label and counting a failure on a mismatch. Returns false when the verdict
 * itself (verified or not) differs: nothing further is worth comparing.
 */
bool cs_case_check_code(const char *label, const json_t *expect, cs_code code);

/*
 * Compares expect.debug and every entry of expect.claims with the claims of the verdict
 * (parsed JSON). With is_subset, a claim given as an object is compared entry by entry
 * (the verdict may hold more entries); otherwise every claim must be equal.
 */
void cs_case_check_claims(const char *label, const json_t *expect, const json_t *verdict,
                          bool is_subset);

/*
 * Calls fn for every case directory of ../shared/testdata/evidence, in name order, whose
 * case.json names one of platforms (a NULL-terminated list), with the parsed case.json.
 * Prints SKIP and exits 77 when ../shared is absent. Returns the sum of fn's results.
 */
typedef int (*cs_case_fn)(const char *dir, const char *id, const json_t *cj, void *ctx);
int cs_case_walk(const char *const *platforms, cs_case_fn fn, void *ctx);

/*
 * Opens ../shared/testdata/evidence/<id>: writes its path to dir and returns its parsed
 * case.json (release with json_decref). Prints SKIP and exits 77 when ../shared is
 * absent; aborts when case.json cannot be read.
 */
json_t *cs_case_open(const char *id, char *dir, size_t dir_size);
/* case.json's "at" and "window" {"not_before","not_after"}; aborts when one is missing. */
void cs_case_window(const json_t *cj, int64_t *at, int64_t *not_before, int64_t *not_after);

/*
 * Flips one byte of the DER of the n-th certificate of a PEM text in place, keeping the
 * text's length and line layout (the base64 is re-encoded into the same positions).
 * der_off counts from the end of the DER when from_end, else from its start. False when
 * there is no such certificate or byte.
 */
bool cs_case_flip_in_pem_cert(uint8_t *pem, size_t len, size_t n, size_t der_off, bool from_end);

/*
 * Expects the JSON of v to equal *first, the JSON of the first verdict given: on the first
 * call (*first NULL) keeps it there. Release *first with custos_free at the end.
 */
void cs_case_expect_same_verdict(const struct custos_verdict *v, char **first);

/* Runs fn on two threads at once, one with arg0 and one with arg1, and waits for both. */
void cs_case_two_threads(void *(*fn)(void *), void *arg0, void *arg1);

#endif
