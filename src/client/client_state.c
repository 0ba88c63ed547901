/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's half of attested state (docs/state.md): the envelope, the anti-rollback
 * memory, and the checks of a read. No network here: client.c fetches, this file judges.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_int.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"
#include "crypto/cs_ecdsa.h"

#define H CUSTOS_HASH_LEN
#define AAD_LABEL "custos/state/v1"

cs_res cs_client_fail(struct custos_diag *diag, cs_code code, const char *file, uint32_t line,
                      const char *fmt, ...)
{
    if (diag != NULL) {
        diag->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
        va_end(ap);
    }
    return (cs_res){ .code = code, .line = line, .file = file };
}

bool cs_state_object_ok(const char *object)
{
    if (object == NULL) {
        return false;
    }
    size_t n = strnlen(object, CUSTOS_STATE_OBJECT_MAX + 1);
    if (n == 0 || n > CUSTOS_STATE_OBJECT_MAX || strcmp(object, ".") == 0
        || strcmp(object, "..") == 0) {
        return false;
    }
    return strspn(object, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
           == n;
}

/* ---- the envelope ---- */

struct aad {
    char version[24];
    struct cs_cur parts[6];
};

static cs_res aad_make(const char *identity, const char *object, uint64_t version, struct aad *a)
{
    CS_ENSURE(identity != NULL && object != NULL, CS_E_ARG);
    size_t id_len = strnlen(identity, CS_STATE_IDENTITY_MAX + 1);
    CS_ENSURE(id_len > 0 && id_len <= CS_STATE_IDENTITY_MAX, CS_E_ARG);
    CS_ENSURE(cs_state_object_ok(object), CS_E_ARG);
    CS_ENSURE(version > 0 && version <= CS_STATE_VERSION_MAX, CS_E_ARG);
    snprintf(a->version, sizeof a->version, "%" PRIu64, version);
    static const uint8_t nul = 0;
    /* "custos/state/v1" 0x00 identity 0x00 object 0x00 version */
    a->parts[0] = cs_cur_of((const uint8_t *)AAD_LABEL, sizeof AAD_LABEL); /* with its NUL */
    a->parts[1] = cs_cur_of((const uint8_t *)identity, id_len);
    a->parts[2] = cs_cur_of(&nul, 1);
    a->parts[3] = cs_cur_of((const uint8_t *)object, strlen(object));
    a->parts[4] = cs_cur_of(&nul, 1);
    a->parts[5] = cs_cur_of((const uint8_t *)a->version, strlen(a->version));
    return CS_SUCCESS;
}

CS_RESULT cs_state_seal(const uint8_t key[CS_AEAD_KEY_LEN], const char *identity,
                        const char *object, uint64_t version, const uint8_t *pt, size_t len,
                        uint8_t **env, size_t *env_len)
{
    CS_ENSURE(env != NULL && env_len != NULL, CS_E_ARG);
    *env = NULL;
    *env_len = 0;
    CS_ENSURE(key != NULL && (pt != NULL || len == 0), CS_E_ARG);
    CS_ENSURE(len <= CUSTOS_STATE_PLAINTEXT_MAX, CS_E_TOO_LARGE);
    struct aad a;
    CS_TRY(aad_make(identity, object, version, &a));
    size_t cap = CS_STATE_ENVELOPE_OVERHEAD + len;
    CS_AUTO(cs_freep) uint8_t *out = NULL;
    CS_TRY(cs_alloc(1, cap, (void **)&out));
    out[0] = CS_STATE_ENVELOPE_VERSION;
    size_t n = 0;
    CS_TRY(cs_aead_seal(key, a.parts, 6, cs_cur_of(pt, len), out + 1, cap - 1, &n));
    CS_ENSURE(n == cap - 1, CS_E_INTERNAL);
    *env = CS_MOVE(out);
    *env_len = cap;
    return CS_SUCCESS;
}

CS_RESULT cs_state_open(const uint8_t key[CS_AEAD_KEY_LEN], const char *identity,
                        const char *object, uint64_t version, const uint8_t *env, size_t env_len,
                        uint8_t **pt, size_t *len)
{
    CS_ENSURE(pt != NULL && len != NULL, CS_E_ARG);
    *pt = NULL;
    *len = 0;
    CS_ENSURE(key != NULL && (env != NULL || env_len == 0), CS_E_ARG);
    CS_ENSURE(env_len <= CS_STATE_ENVELOPE_MAX, CS_E_TOO_LARGE);
    CS_ENSURE(env_len >= CS_STATE_ENVELOPE_OVERHEAD, CS_E_TRUNCATED);
    CS_ENSURE(env[0] == CS_STATE_ENVELOPE_VERSION, CS_E_FORMAT);
    struct aad a;
    CS_TRY(aad_make(identity, object, version, &a));
    size_t cap = env_len - CS_STATE_ENVELOPE_OVERHEAD;
    uint8_t *out = NULL;
    CS_TRY(cs_alloc(1, cap > 0 ? cap : 1, (void **)&out));
    size_t n = 0;
    cs_res r = cs_aead_open(key, a.parts, 6, cs_cur_of(env + 1, env_len - 1), out,
                            cap > 0 ? cap : 1, &n);
    if (!cs_ok(r)) {
        cs_free_wipe(out, cap > 0 ? cap : 1);
        return r;
    }
    *pt = out;
    *len = n;
    return CS_SUCCESS;
}

/* ---- the anti-rollback memory ---- */

void cs_memory_clear(struct cs_memory *m)
{
    if (m != NULL) {
        json_decref(m->doc);
        m->doc = NULL;
    }
}

static cs_res memory_check(const json_t *doc, const char *log_vkey, struct custos_diag *diag)
{
    uint64_t v = 0;
    const char *vkey = NULL;
    json_t *objects = NULL;
    if (!cs_ok(cs_json_get_uint(doc, "v", 1, &v)) || v != 1
        || !cs_ok(cs_json_get_str(doc, "log_vkey", 1024, &vkey, NULL))
        || !cs_ok(cs_json_get_obj(doc, "objects", &objects))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state file is not a custos client state (v 1)");
    }
    if (strcmp(vkey, log_vkey) != 0) {
        CS_CLIENT_FAIL(diag, CS_E_ARG,
                       "the state file belongs to another log (its vkey differs): use one "
                       "state file per broker");
    }
    if (json_object_size(objects) > CS_MEMORY_OBJECTS_MAX) {
        CS_CLIENT_FAIL(diag, CS_E_TOO_LARGE, "the state file remembers too many objects");
    }
    const char *name = NULL;
    json_t *val = NULL;
    json_object_foreach ((json_t *)objects, name, val) {
        if (!cs_state_object_ok(name) || !json_is_integer(val) || json_integer_value(val) < 1
            || (uint64_t)json_integer_value(val) > CS_STATE_VERSION_MAX) {
            CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state file has a bad object entry");
        }
    }
    json_t *cp = json_object_get(doc, "checkpoint");
    if (cp != NULL) {
        uint64_t size = 0;
        uint8_t root[H];
        if (!json_is_object(cp) || !cs_ok(cs_json_get_uint(cp, "size", INT64_MAX, &size))
            || size == 0 || !cs_ok(cs_json_get_hex(cp, "root", root, sizeof root))) {
            CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state file has a bad checkpoint");
        }
    }
    return CS_SUCCESS;
}

CS_RESULT cs_memory_load(const char *path, const char *log_vkey, struct custos_diag *diag,
                         struct cs_memory *m)
{
    CS_ENSURE(m != NULL && path != NULL && log_vkey != NULL, CS_E_ARG);
    m->doc = NULL;
    /* O_NOFOLLOW, then fstat of what was opened: no window for a swapped-in link */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        m->doc = json_pack("{s:i, s:s, s:{}}", "v", 1, "log_vkey", log_vkey, "objects");
        CS_ENSURE(m->doc != NULL, CS_E_NOMEM);
        return CS_SUCCESS;
    }
    if (fd < 0) {
        CS_CLIENT_FAIL(diag, CS_E_IO, "cannot open the state file (%s)",
                       errno == ELOOP ? "a symbolic link" : strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()
        || (st.st_mode & 022) != 0) {
        close(fd);
        CS_CLIENT_FAIL(diag, CS_E_IO,
                       "the state file must be a regular file of this user that others "
                       "cannot write");
    }
    struct cs_blob b = { 0 };
    cs_res r = cs_fd_read(fd, CS_MEMORY_FILE_MAX, &b);
    close(fd);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, r.code, "cannot read the state file (%s)", custos_code_name(r.code));
    }
    json_t *doc = NULL;
    r = cs_json_load(cs_cur_of(b.p, b.len), CS_MEMORY_FILE_MAX, &doc);
    cs_blob_clear(&b);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state file is not valid JSON");
    }
    r = memory_check(doc, log_vkey, diag);
    if (!cs_ok(r)) {
        json_decref(doc);
        return r;
    }
    m->doc = doc;
    return CS_SUCCESS;
}


CS_RESULT cs_memory_save(const struct cs_memory *m, const char *path)
{
    CS_ENSURE(m != NULL && m->doc != NULL && path != NULL, CS_E_ARG);
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CS_ENSURE(n > 0 && (size_t)n < sizeof tmp, CS_E_ARG);
    char *text = json_dumps(m->doc, JSON_COMPACT | JSON_SORT_KEYS);
    CS_ENSURE(text != NULL, CS_E_NOMEM);
    size_t len = strlen(text);
    (void)unlink(tmp); /* a leftover of a crash; O_EXCL below refuses anything racing in */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        cs_free(text);
        CS_FAIL(CS_E_IO);
    }
    cs_res r = cs_fd_write_all(fd, text, len);
    cs_free(text);
    bool is_ok = cs_ok(r) && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    is_ok &= close(fd) == 0;
    if (!is_ok || rename(tmp, path) != 0) {
        (void)unlink(tmp);
        CS_FAIL(CS_E_IO);
    }
    return cs_fsync_parent(path);
}

CS_RESULT cs_memory_checkpoint(const struct cs_memory *m, bool *has, struct custos_checkpoint *cp)
{
    CS_ENSURE(m != NULL && m->doc != NULL && has != NULL && cp != NULL, CS_E_ARG);
    *cp = (struct custos_checkpoint){ 0 };
    json_t *o = json_object_get(m->doc, "checkpoint");
    *has = o != NULL;
    if (o == NULL) {
        return CS_SUCCESS;
    }
    CS_TRY(cs_json_get_uint(o, "size", INT64_MAX, &cp->size));
    return cs_json_get_hex(o, "root", cp->root, H);
}

CS_RESULT cs_memory_set_checkpoint(struct cs_memory *m, const struct custos_checkpoint *cp)
{
    CS_ENSURE(m != NULL && m->doc != NULL && cp != NULL, CS_E_ARG);
    CS_ENSURE(cp->size > 0 && cp->size <= INT64_MAX, CS_E_ARG);
    json_t *o = json_pack("{s:I}", "size", (json_int_t)cp->size);
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    cs_res r = cs_json_set_hex(o, "root", cp->root, H);
    if (!cs_ok(r)) {
        json_decref(o);
        return r;
    }
    return cs_json_set_new(m->doc, "checkpoint", o);
}

uint64_t cs_memory_version(const struct cs_memory *m, const char *object)
{
    if (m == NULL || m->doc == NULL || object == NULL) {
        return 0;
    }
    json_t *v = json_object_get(json_object_get(m->doc, "objects"), object);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

CS_RESULT cs_memory_raise(struct cs_memory *m, const char *object, uint64_t version)
{
    CS_ENSURE(m != NULL && m->doc != NULL && cs_state_object_ok(object), CS_E_ARG);
    CS_ENSURE(version > 0 && version <= CS_STATE_VERSION_MAX, CS_E_ARG);
    if (version <= cs_memory_version(m, object)) {
        return CS_SUCCESS;
    }
    json_t *objects = json_object_get(m->doc, "objects");
    CS_ENSURE(json_is_object(objects), CS_E_INTERNAL);
    CS_ENSURE(json_object_get(objects, object) != NULL
                  || json_object_size(objects) < CS_MEMORY_OBJECTS_MAX,
              CS_E_TOO_LARGE);
    return cs_json_set_new(objects, object, json_integer((json_int_t)version));
}

/* ---- a state read ---- */

void cs_state_read_clear(struct cs_state_read *r)
{
    if (r != NULL) {
        cs_free(r->ciphertext);
        *r = (struct cs_state_read){ 0 };
    }
}

static cs_res hashes(const json_t *arr, uint8_t *out, size_t *n)
{
    CS_ENSURE(json_is_array(arr), CS_E_FORMAT);
    CS_ENSURE(json_array_size(arr) <= CS_STATE_PROOF_MAX, CS_E_TOO_LARGE);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        CS_ENSURE(s != NULL, CS_E_FORMAT);
        CS_TRY(cs_hex_decode(s, strlen(s), out + i * H, H));
    }
    *n = json_array_size(arr);
    return CS_SUCCESS;
}

CS_RESULT cs_state_read_parse(const json_t *doc, const char *object, struct custos_diag *diag,
                              struct cs_state_read *out)
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    *out = (struct cs_state_read){ 0 };
    CS_ENSURE(doc != NULL && object != NULL, CS_E_ARG);
    const char *name = NULL;
    const char *ct = NULL;
    size_t ct_len = 0;
    json_t *proof = NULL;
    json_t *hs = NULL;
    if (!cs_ok(cs_json_get_str(doc, "object", CUSTOS_STATE_OBJECT_MAX, &name, NULL))
        || !cs_ok(cs_json_get_uint(doc, "version", CS_STATE_VERSION_MAX, &out->version))
        || !cs_ok(cs_json_get_uint(doc, "log_index", INT64_MAX, &out->log_index))
        || !cs_ok(cs_json_get_str(doc, "ciphertext", CS_STATE_ENVELOPE_MAX / 3 * 4 + 4, &ct,
                                  &ct_len))
        || !cs_ok(cs_json_get_str(doc, "record", CS_STATE_RECORD_MAX, &out->record,
                                  &out->record_len))
        || !cs_ok(cs_json_get_str(doc, "checkpoint", 64 * 1024, &out->checkpoint,
                                  &out->checkpoint_len))
        || !cs_ok(cs_json_get_obj(doc, "proof", &proof))
        || !cs_ok(cs_json_get_uint(proof, "index", INT64_MAX, &out->proof_index))
        || !cs_ok(cs_json_get_uint(proof, "size", INT64_MAX, &out->proof_size))
        || (hs = json_object_get(proof, "hashes")) == NULL
        || !cs_ok(hashes(hs, out->proof, &out->proof_n))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the broker's state answer is malformed");
    }
    if (strcmp(name, object) != 0 || out->version == 0) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING, "the broker answered for another object");
    }
    size_t cap = CS_B64_DECODED_MAX(ct_len);
    CS_TRY(cs_alloc(1, cap > 0 ? cap : 1, (void **)&out->ciphertext));
    if (!cs_ok(cs_b64_decode(ct, ct_len, true, out->ciphertext, cap > 0 ? cap : 1,
                             &out->ciphertext_len))) {
        CS_CLIENT_FAIL(diag, CS_E_FORMAT, "the state ciphertext is not canonical base64");
    }
    return CS_SUCCESS;
}

/* The record of a state write: type state, op put, this object, version and ciphertext. */
static cs_res record_check(const struct cs_state_read *r, const char *object,
                           struct custos_diag *diag)
{
    CS_AUTO(cs_json_decrefp) json_t *rec = NULL;
    if (!cs_ok(cs_json_load(cs_cur_of((const uint8_t *)r->record, r->record_len),
                            CS_STATE_RECORD_MAX, &rec))) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING, "the audit record is not a JSON object");
    }
    const char *type = NULL;
    const char *op = NULL;
    const char *name = NULL;
    uint64_t version = 0;
    uint8_t want[H];
    if (!cs_ok(cs_json_get_str(rec, "type", 32, &type, NULL)) || strcmp(type, "state") != 0
        || !cs_ok(cs_json_get_str(rec, "op", 32, &op, NULL)) || strcmp(op, "put") != 0) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING, "the audit record is not a state write");
    }
    if (!cs_ok(cs_json_get_str(rec, "object", CUSTOS_STATE_OBJECT_MAX, &name, NULL))
        || strcmp(name, object) != 0) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING, "the audit record names another object");
    }
    if (!cs_ok(cs_json_get_uint(rec, "version", CS_STATE_VERSION_MAX, &version))
        || version != r->version) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the audit record is of version %" PRIu64 ", the broker served version "
                       "%" PRIu64 " (a broker database out of step with its log?)",
                       version, r->version);
    }
    uint8_t got[H];
    CS_TRY(cs_sha256(cs_cur_of(r->ciphertext, r->ciphertext_len), got));
    if (!cs_ok(cs_json_get_hex(rec, "ciphertext_sha256", want, sizeof want))
        || !cs_ct_equal(got, want, H)) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the ciphertext served is not the one the audit log recorded for "
                       "version %" PRIu64,
                       r->version);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_state_read_verify(const struct cs_state_read *r, const char *object,
                               const struct custos_tlog_policy *policy, struct custos_diag *diag,
                               struct custos_checkpoint *cp)
{
    CS_ENSURE(r != NULL && object != NULL && policy != NULL && cp != NULL, CS_E_ARG);
    *cp = (struct custos_checkpoint){ 0 };
    cs_res res = custos_tlog_checkpoint_open((const uint8_t *)r->checkpoint, r->checkpoint_len,
                                             policy, cp);
    if (!cs_ok(res)) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the checkpoint does not verify under the configured log key (%s)",
                       custos_code_name(res.code));
    }
    if (r->proof_size != cp->size || r->proof_index != r->log_index
        || r->proof_index >= cp->size) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the inclusion proof is not for the record's index in the checkpoint's "
                       "tree");
    }
    uint8_t leaf[H];
    CS_TRY(custos_tlog_leaf_hash((const uint8_t *)r->record, r->record_len, leaf));
    res = custos_tlog_verify_inclusion(r->proof_index, cp->size, leaf, r->proof, r->proof_n,
                                       cp->root);
    if (!cs_ok(res)) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the audit record is not in the signed log at index %" PRIu64,
                       r->proof_index);
    }
    return record_check(r, object, diag);
}

CS_RESULT cs_state_check_version(const struct cs_memory *m, const char *object, uint64_t version,
                                 struct custos_diag *diag)
{
    CS_ENSURE(m != NULL && object != NULL, CS_E_ARG);
    uint64_t seen = cs_memory_version(m, object);
    if (version < seen) {
        CS_CLIENT_FAIL(diag, CS_E_CONFLICT,
                       "rollback: the broker served version %" PRIu64 " of %s, this client has "
                       "seen version %" PRIu64,
                       version, object, seen);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_state_check_consistency(const struct cs_memory *m, const struct custos_checkpoint *cp,
                                     const uint8_t *proof, size_t n, bool *need_proof,
                                     struct custos_diag *diag)
{
    CS_ENSURE(m != NULL && cp != NULL && need_proof != NULL, CS_E_ARG);
    *need_proof = false;
    bool has = false;
    struct custos_checkpoint old;
    CS_TRY(cs_memory_checkpoint(m, &has, &old));
    if (!has) {
        return CS_SUCCESS; /* first contact: trust on first use of this log's history */
    }
    if (cp->size < old.size) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "rollback: the log shrank from %" PRIu64 " to %" PRIu64 " entries since "
                       "this client last saw it",
                       old.size, cp->size);
    }
    if (cp->size == old.size) {
        if (!cs_ct_equal(cp->root, old.root, H)) {
            CS_CLIENT_FAIL(diag, CS_E_BINDING,
                           "fork: the log has %" PRIu64 " entries as before but another root",
                           cp->size);
        }
        return CS_SUCCESS;
    }
    if (proof == NULL) {
        *need_proof = true;
        return CS_SUCCESS;
    }
    cs_res r = custos_tlog_verify_consistency(old.size, cp->size, old.root, cp->root, proof, n);
    if (!cs_ok(r)) {
        CS_CLIENT_FAIL(diag, CS_E_BINDING,
                       "the log of %" PRIu64 " entries is not an extension of the one of %" PRIu64
                       " this client saw (history rewritten or restored from a backup)",
                       cp->size, old.size);
    }
    return CS_SUCCESS;
}
