/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The development attester (dev_attester.h): the forge's PKI kept in DIR/dev-attester,
 * its collateral kept fresh, and quotes signed on demand.
 *
 * Every file under DIR/dev-attester is reached through a descriptor of that directory
 * (opened O_NOFOLLOW, then checked for owner and mode) with openat(O_NOFOLLOW), so no
 * component below DIR can be swapped for a symlink between a check and a use. Files are
 * replaced by rename of a fresh O_EXCL temporary, so a reader (custosd loading the
 * collateral while the CLI refreshes it) sees the old or the new file, never half of one.
 * Whether the collateral is usable is decided by the verifier itself: a probe quote must
 * verify against it now and 30 days from now.
 */
#include "sim/dev_attester.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cs_file.h"
#include "core/cs_mem.h"
#include "custos/dcap.h"
#include "custos/verdict.h"
#include "sim/dcap_forge.h"

#define DAY INT64_C(86400)
#define ROOT_DAYS (20 * 365)
#define KEY_FILE_MAX (16u * 1024u)
#define PUBLIC_FILE_MAX (64u * 1024u)
#define ROOT_CN "custos development Root CA (not Intel)"
#define TD_ATTR_DEBUG 0x01 /* TD_ATTRIBUTES bit 0 (TDX module ABI, TDREPORT_STRUCT) */

#define SECRET_FORBIDDEN ((mode_t)(S_IRWXG | S_IRWXO)) /* keys and the directory: 0700/0600 */
#define PUBLIC_FORBIDDEN ((mode_t)(S_IWGRP | S_IWOTH)) /* certificates, collateral */

static const char *const KEY_FILES[CS_FORGE_N_ROLES] = {
    [CS_FORGE_ROLE_ROOT] = "root.key",
    [CS_FORGE_ROLE_PCK_CA] = "pck_ca.key",
    [CS_FORGE_ROLE_PCK_LEAF] = "pck_leaf.key",
    [CS_FORGE_ROLE_TCB_SIGNING] = "tcb_signing.key",
    [CS_FORGE_ROLE_ATTESTATION] = "attestation.key",
};
static const char ROOT_FILE[] = "root.pem"; /* written last: its presence marks a whole PKI */
static const char CHAIN_FILE[] = "pck_chain.pem";
static const char COLLATERAL_DIR[] = "collateral";

const uint8_t cs_dev_default_mr_td[CS_DEV_MEASUREMENT_LEN] = {
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43,
    0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
};

/* owns: keys, pck_chain, anchor. Read-only after cs_dev_attester_open returns. */
struct cs_dev_attester {
    struct cs_forge_keys *keys;  /* root pinned */
    struct cs_forge_opts base;   /* TDX v4 defaults every quote starts from */
    struct cs_blob pck_chain;    /* PEM: leaf, PCK CA, root (the bytes of pck_chain.pem) */
    struct cs_blob anchor;       /* PEM: the Root CA */
    char collateral_dir[PATH_MAX];
};

void cs_dev_attester_free(struct cs_dev_attester *a)
{
    if (a == NULL) {
        return;
    }
    cs_forge_keys_free(a->keys);
    cs_blob_clear(&a->pck_chain);
    cs_blob_clear(&a->anchor);
    cs_free(a);
}

static void attester_freep(struct cs_dev_attester **p)
{
    cs_dev_attester_free(*p);
}

static void keys_freep(struct cs_forge_keys **p)
{
    cs_forge_keys_free(*p);
}

static void case_clearp(struct cs_forge_case *c)
{
    cs_forge_case_clear(c);
}

static void fd_closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}

/* A blob that held a private key. */
static void secret_clear(struct cs_blob *b)
{
    if (b->p != NULL) {
        cs_wipe(b->p, b->len);
    }
    cs_blob_clear(b);
}

/* ---- files ----------------------------------------------------------------------- */

/* Refuses what another user could have placed, or could read when forbidden has r bits. */
static cs_res check_file(int fd, bool is_dir, mode_t forbidden, size_t max)
{
    struct stat st;
    CS_ENSURE(fstat(fd, &st) == 0, CS_E_IO);
    CS_ENSURE(is_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode), CS_E_IO);
    CS_ENSURE(st.st_uid == geteuid(), CS_E_IO);
    CS_ENSURE((st.st_mode & forbidden) == 0, CS_E_IO);
    CS_ENSURE(is_dir || (st.st_size >= 0 && (uint64_t)st.st_size <= max), CS_E_TOO_LARGE);
    return CS_SUCCESS;
}

/* Opens dfd/name as a directory (never through a symlink). CS_E_NOT_FOUND when missing. */
static cs_res open_dir_at(int dfd, const char *name, int *out)
{
    *out = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    CS_ENSURE(*out >= 0 || errno != ENOENT, CS_E_NOT_FOUND);
    CS_ENSURE(*out >= 0, CS_E_IO); /* ELOOP/ENOTDIR: a symlink or not a directory */
    return CS_SUCCESS;
}

/*
 * Reads dfd/name: a regular file (never through a symlink) owned by the effective user,
 * without the forbidden mode bits, at most max bytes. CS_E_NOT_FOUND when missing.
 */
static cs_res read_at(int dfd, const char *name, mode_t forbidden, size_t max,
                      struct cs_blob *out)
{
    *out = (struct cs_blob){ 0 };
    CS_AUTO(fd_closep)
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    CS_ENSURE(fd >= 0 || errno != ENOENT, CS_E_NOT_FOUND);
    CS_ENSURE(fd >= 0, CS_E_IO); /* ELOOP: a symlink */
    CS_TRY(check_file(fd, false, forbidden, max));
    /* the size was checked: the buffer is allocated once, never copied (keys) */
    return cs_fd_read(fd, max, out);
}


/* Writes a fresh temporary dfd/tmp (O_EXCL, so never through a symlink) with mode. */
static cs_res write_tmp(int dfd, const char *tmp, const struct cs_blob *b, mode_t mode)
{
    if (unlinkat(dfd, tmp, 0) != 0) {
        CS_ENSURE(errno == ENOENT, CS_E_IO); /* a leftover of an interrupted write */
    }
    CS_AUTO(fd_closep)
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    CS_ENSURE(fd >= 0, CS_E_IO);
    CS_TRY(cs_fd_write_all(fd, b->p, b->len));
    CS_ENSURE(fchmod(fd, mode) == 0, CS_E_IO); /* exactly mode, whatever the umask */
    CS_ENSURE(fsync(fd) == 0, CS_E_IO);
    return CS_SUCCESS;
}

/* Replaces dfd/name with b atomically (temporary file, then rename). */
static cs_res write_at(int dfd, const char *name, const struct cs_blob *b, mode_t mode)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, ".%s.tmp", name);
    CS_ENSURE(n > 0 && (size_t)n < sizeof tmp, CS_E_INTERNAL);
    cs_res r = write_tmp(dfd, tmp, b, mode);
    if (cs_ok(r) && renameat(dfd, tmp, dfd, name) != 0) {
        r = (cs_res){ .code = CS_E_IO, .line = __LINE__, .file = __FILE__ };
    }
    if (!cs_ok(r)) {
        (void)unlinkat(dfd, tmp, 0); /* nothing of a failed write stays behind */
    }
    return r;
}

/*
 * Opens DIR/dev-attester (made with create), checked: a directory, not a symlink, ours,
 * no access for group or others. CS_E_NOT_FOUND when missing and not create.
 */
static cs_res open_home(const char *dir, bool create, int *out)
{
    *out = -1;
    if (create && mkdir(dir, 0700) != 0) {
        CS_ENSURE(errno == EEXIST, CS_E_IO);
    }
    CS_AUTO(fd_closep) int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CS_ENSURE(dfd >= 0 || errno != ENOENT, CS_E_NOT_FOUND);
    CS_ENSURE(dfd >= 0, CS_E_IO);
    if (create && mkdirat(dfd, CS_DEV_DIR_NAME, 0700) != 0) {
        CS_ENSURE(errno == EEXIST, CS_E_IO);
    }
    CS_AUTO(fd_closep) int home = -1;
    CS_TRY(open_dir_at(dfd, CS_DEV_DIR_NAME, &home));
    CS_TRY(check_file(home, true, SECRET_FORBIDDEN, 0));
    int rc;
    do {
        rc = flock(home, LOCK_EX); /* custosd and the CLI may open one directory at once */
    } while (rc != 0 && errno == EINTR);
    CS_ENSURE(rc == 0, CS_E_IO);
    *out = home;
    home = -1; /* moved */
    return CS_SUCCESS;
}

/* ---- the PKI ----------------------------------------------------------------------- */

/* Fresh keys and a Root CA valid from now - 1 day for 20 years, written to home. */
static cs_res make_pki(int home, int64_t now)
{
    CS_AUTO(keys_freep) struct cs_forge_keys *k = NULL;
    CS_TRY(cs_forge_keys_new(&k));
    const struct cs_forge_window w = { now - DAY, now - DAY + ROOT_DAYS * DAY };
    CS_TRY(cs_forge_keys_pin_new_root(k, ROOT_CN, w));
    for (size_t r = 0; r < CS_FORGE_N_ROLES; r++) {
        CS_AUTO(secret_clear) struct cs_blob pem = { 0 };
        CS_TRY(cs_forge_keys_export(k, (enum cs_forge_role)r, &pem));
        CS_TRY(write_at(home, KEY_FILES[r], &pem, 0600));
    }
    CS_AUTO(cs_blob_clear) struct cs_blob root = { 0 };
    CS_TRY(cs_forge_keys_root_pem(k, &root));
    CS_TRY(write_at(home, ROOT_FILE, &root, 0644));
    CS_ENSURE(fsync(home) == 0, CS_E_IO);
    return CS_SUCCESS;
}

/* The five private keys of a PKI as read from its files. */
struct key_pems {
    struct cs_blob pem[CS_FORGE_N_ROLES];
};

static void key_pems_clear(struct key_pems *k)
{
    for (size_t r = 0; r < CS_FORGE_N_ROLES; r++) {
        secret_clear(&k->pem[r]);
    }
}

/* Reads the keys, pins root.pem (which must be the root key's certificate). */
static cs_res load_pki(struct cs_dev_attester *a, int home, const struct cs_blob *root)
{
    CS_AUTO(key_pems_clear) struct key_pems k = { 0 };
    for (size_t r = 0; r < CS_FORGE_N_ROLES; r++) {
        cs_res res = read_at(home, KEY_FILES[r], SECRET_FORBIDDEN, KEY_FILE_MAX, &k.pem[r]);
        CS_ENSURE(res.code != CS_E_NOT_FOUND, CS_E_IO); /* root.pem without its keys */
        CS_TRY(res);
    }
    CS_TRY(cs_forge_keys_import(k.pem, &a->keys));
    CS_TRY(cs_forge_keys_pin_root_pem(a->keys, root));
    return cs_forge_keys_root_pem(a->keys, &a->anchor);
}

static cs_res open_pki(struct cs_dev_attester *a, int home, bool create, int64_t now)
{
    CS_AUTO(cs_blob_clear) struct cs_blob root = { 0 };
    cs_res r = read_at(home, ROOT_FILE, PUBLIC_FORBIDDEN, PUBLIC_FILE_MAX, &root);
    if (r.code == CS_E_NOT_FOUND && create) {
        CS_TRY(make_pki(home, now));
        r = read_at(home, ROOT_FILE, PUBLIC_FORBIDDEN, PUBLIC_FILE_MAX, &root);
    }
    CS_TRY(r);
    return load_pki(a, home, &root);
}

/* ---- collateral ---------------------------------------------------------------------- */

static void collateral_freep(struct custos_dcap_collateral **p)
{
    custos_dcap_collateral_free(*p);
}

static void verdict_freep(struct custos_verdict **p)
{
    custos_verdict_free(*p);
}

static bool verifies_at(struct custos_dcap_collateral *c, const uint8_t *q, size_t len,
                        int64_t at)
{
    CS_AUTO(verdict_freep) struct custos_verdict *v = NULL;
    if (!cs_ok(custos_dcap_verify(c, q, len, at, &v))) {
        return false;
    }
    const char *status = custos_verdict_tcb_status(v);
    return strcmp(custos_verdict_platform(v), "tdx") == 0 && status != NULL &&
           strcmp(status, "UpToDate") == 0;
}

/*
 * Whether the collateral on disk serves: it loads, and a default quote made now
 * verifies UpToDate against it at now and at now + 30 days.
 */
static bool collateral_serves(const struct cs_dev_attester *a, int home, int64_t now)
{
    CS_AUTO(fd_closep) int cdir = -1;
    if (a->pck_chain.p == NULL || !cs_ok(open_dir_at(home, COLLATERAL_DIR, &cdir))) {
        return false;
    }
    CS_AUTO(collateral_freep) struct custos_dcap_collateral *c = NULL;
    if (!cs_ok(custos_dcap_collateral_load_dir(a->collateral_dir, NULL, &c))) {
        return false;
    }
    const struct cs_dev_quote_opts probe = { .report_data = { 0 } };
    CS_AUTO(cs_freep) uint8_t *q = NULL;
    size_t len = 0;
    if (!cs_ok(cs_dev_attester_quote(a, &probe, &q, &len))) {
        return false;
    }
    return verifies_at(c, q, len, now) &&
           verifies_at(c, q, len, now + CS_DEV_COLLATERAL_RENEW_DAYS * DAY);
}

/* Every collateral window from now - 1 day to now + 365 days. */
static void collateral_opts(const struct cs_dev_attester *a, int64_t now, struct cs_forge_opts *o)
{
    const struct cs_forge_window w = { now - DAY, now + CS_DEV_COLLATERAL_DAYS * DAY };
    *o = a->base;
    o->at = now;
    o->pck_ca = w;
    o->pck_leaf = w;
    o->tcb_signing = w;
    o->root_crl = w;
    o->pck_crl = w;
    o->tcb_info = w;
    o->qe_identity = w;
}

/* Writes fresh collateral (same keys and root) and pck_chain.pem; adopts the chain. */
static cs_res make_collateral(struct cs_dev_attester *a, int home, int64_t now)
{
    struct cs_forge_opts o;
    collateral_opts(a, now, &o);
    CS_AUTO(case_clearp) struct cs_forge_case c = { 0 };
    CS_TRY(cs_forge_case_build(a->keys, &o, &c));
    if (mkdirat(home, COLLATERAL_DIR, 0755) != 0) {
        CS_ENSURE(errno == EEXIST, CS_E_IO);
    }
    CS_AUTO(fd_closep) int cdir = -1;
    CS_TRY(open_dir_at(home, COLLATERAL_DIR, &cdir));
    CS_TRY(check_file(cdir, true, PUBLIC_FORBIDDEN, 0));
    const struct {
        const char *name;
        const struct cs_blob *blob;
    } files[] = {
        /* the names custos_dcap_collateral_load_dir reads */
        { "tcb_info.json", &c.tcb_info },
        { "tcb_info_issuer_chain.pem", &c.tcb_info_chain },
        { "qe_identity.json", &c.qe_identity },
        { "qe_identity_issuer_chain.pem", &c.qe_identity_chain },
        { "pck_crl.der", &c.pck_crl },
        { "root_ca_crl.der", &c.root_ca_crl },
        { "trust_anchor.pem", &c.trust_anchor },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CS_TRY(write_at(cdir, files[i].name, files[i].blob, 0644));
    }
    CS_ENSURE(fsync(cdir) == 0, CS_E_IO);
    CS_TRY(write_at(home, CHAIN_FILE, &c.pck_chain, 0644));
    CS_ENSURE(fsync(home) == 0, CS_E_IO);
    cs_blob_clear(&a->pck_chain);
    a->pck_chain = c.pck_chain;
    c.pck_chain = (struct cs_blob){ 0 }; /* moved */
    return CS_SUCCESS;
}

static cs_res refresh_collateral(struct cs_dev_attester *a, int home, int64_t now)
{
    cs_res r = read_at(home, CHAIN_FILE, PUBLIC_FORBIDDEN, PUBLIC_FILE_MAX, &a->pck_chain);
    if (cs_ok(r) && collateral_serves(a, home, now)) {
        return CS_SUCCESS;
    }
    cs_blob_clear(&a->pck_chain);
    CS_TRY(make_collateral(a, home, now));
    CS_ENSURE(collateral_serves(a, home, now), CS_E_INTERNAL);
    return CS_SUCCESS;
}

/* ---- the API --------------------------------------------------------------------------- */

CS_RESULT cs_dev_attester_open(const char *dir, bool create, int64_t now,
                               struct cs_dev_attester **out)
{
    CS_ENSURE(dir != NULL && out != NULL, CS_E_ARG);
    *out = NULL;
    CS_ENSURE(dir[0] != '\0', CS_E_ARG);
    CS_AUTO(attester_freep) struct cs_dev_attester *a = NULL;
    CS_TRY(cs_alloc(1, sizeof *a, (void **)&a));
    int n = snprintf(a->collateral_dir, sizeof a->collateral_dir, "%s/%s/%s", dir,
                     CS_DEV_DIR_NAME, COLLATERAL_DIR);
    CS_ENSURE(n > 0 && (size_t)n < sizeof a->collateral_dir, CS_E_ARG);
    cs_forge_opts_init(&a->base, 4, CS_INTEL_BODY_TDX10, now);

    CS_AUTO(fd_closep) int home = -1; /* holds the lock until return */
    CS_TRY(open_home(dir, create, &home));
    CS_TRY(open_pki(a, home, create, now));
    CS_TRY(refresh_collateral(a, home, now));
    *out = CS_MOVE(a);
    return CS_SUCCESS;
}

const char *cs_dev_attester_collateral_dir(const struct cs_dev_attester *a)
{
    return a != NULL ? a->collateral_dir : NULL;
}

CS_RESULT cs_dev_attester_anchor_pem(const struct cs_dev_attester *a, char **pem, size_t *len)
{
    CS_ENSURE(a != NULL && pem != NULL && len != NULL, CS_E_ARG);
    *pem = NULL;
    *len = 0;
    CS_ENSURE(a->anchor.p != NULL, CS_E_ARG);
    char *copy = NULL;
    CS_TRY(cs_alloc(a->anchor.len + 1, 1, (void **)&copy)); /* zeroed: NUL-terminated */
    memcpy(copy, a->anchor.p, a->anchor.len);
    *pem = copy;
    *len = a->anchor.len;
    return CS_SUCCESS;
}

CS_RESULT cs_dev_attester_quote(const struct cs_dev_attester *a, const struct cs_dev_quote_opts *o,
                                uint8_t **quote, size_t *len)
{
    CS_ENSURE(a != NULL && o != NULL && quote != NULL && len != NULL, CS_E_ARG);
    *quote = NULL;
    *len = 0;
    CS_ENSURE(a->keys != NULL && a->pck_chain.p != NULL, CS_E_ARG);
    struct cs_forge_opts f = a->base; /* a private copy: a is shared between threads */
    struct cs_tdx_report *t = &f.tdx;
    memcpy(t->report_data, o->report_data, sizeof t->report_data);
    memcpy(t->mr_td, o->mr_td != NULL ? o->mr_td : cs_dev_default_mr_td, sizeof t->mr_td);
    for (size_t i = 0; i < 4; i++) {
        if (o->rtmr[i] != NULL) {
            memcpy(t->rtmr[i], o->rtmr[i], sizeof t->rtmr[i]);
        } else {
            memset(t->rtmr[i], 0, sizeof t->rtmr[i]);
        }
    }
    if (o->mr_config_id != NULL) {
        memcpy(t->mr_config_id, o->mr_config_id, sizeof t->mr_config_id);
    }
    if (o->debug) {
        t->td_attributes[0] |= TD_ATTR_DEBUG;
    }
    if (o->out_of_date) {
        /* the TCB Info's second level (OutOfDate) holds exactly this TDX component SVN */
        t->tee_tcb_svn[2] = f.tcb_levels[1].tdx_svn[2];
    }
    struct cs_blob q = { 0 };
    CS_TRY(cs_forge_quote_build(a->keys, &f, &a->pck_chain, &q));
    *quote = q.p;
    *len = q.len;
    return CS_SUCCESS;
}
