/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kinds "tdx" and "snp": the Linux configfs-tsm report interface (v6.7+), ABI in
 * Documentation/ABI/testing/configfs-tsm(-report) and drivers/virt/coco/tsm.c:
 *
 *   mkdir $root/$name          the kernel creates inblob, outblob, auxblob, provider,
 *                              generation, privlevel, privlevel_floor
 *   privlevel   (WO text)      optional, 0..TSM_PRIVLEVEL_MAX (3), SNP VMPL
 *   inblob      (WO, <= 64 B)  the REPORT_DATA
 *   provider    (RO)           "tdx_guest" or "sev_guest": the format of outblob
 *   generation  (RO)           "increments each time inblob or any option is written.
 *                              Useful for detecting races between writes and reads"
 *   outblob     (RO)           the report, generated at read time (TSM_OUTBLOB_MAX 32 KiB)
 *   auxblob     (RO)           sev_guest: the GHCB certificate table (may be empty)
 *   rmdir $root/$name
 *
 * Every entry is private to one evidence call: a fresh name (pid, sequence, random), so
 * generation must read exactly the number of our own writes before outblob is read and
 * the same value after; anything else means another process wrote into it (CS_E_CONFLICT).
 * Attribute files are opened relative to the entry's descriptor with O_NOFOLLOW, must be
 * regular files, and are read with a ceiling.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/attester.h"
#include "core/cs_cur.h"
#include "core/cs_file.h"
#include "core/cs_json.h"
#include "core/cs_mem.h"

#define PROVIDER_MAX 64
#define GENERATION_MAX 32
#define NAME_LEN 64
#define MKDIR_TRIES 8

#define TDX_TEE_TYPE 0x81u
#define TDX_HEADER_LEN 48u
#define TDX_BODY_REPORT_DATA_OFF 520u /* TD Quote Body: TEE_TCB_SVN .. RTMR3 precede it */
#define SNP_REPORT_LEN 1184u          /* AMD 56860 ATTESTATION_REPORT, 4A0h bytes */
#define SNP_SIGNED_LEN 0x2A0u
#define SNP_REPORT_DATA_OFF 0x50u
#define SNP_TABLE_ENTRY_LEN 24u /* GUID[16], offset u32, length u32 (GHCB 56421, cert table) */
#define SNP_TABLE_ENTRIES_MAX 16u
#define SNP_CERT_MAX 8192u

#define ATTR_OPEN (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

struct tsm {
    char *root; /* owned copy of the configfs-tsm report directory */
    bool is_snp;
    bool has_privlevel;
    unsigned privlevel;
    uint64_t seq;
    struct cs_tsm_hook hook;
};

/* One report entry: removed (and its descriptor closed) on every path. */
struct entry {
    struct tsm *t;
    int rootfd;
    int fd;
    bool is_made;
    char name[NAME_LEN];
};

static void closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

static void hook(const struct entry *e, enum cs_tsm_stage stage)
{
    if (e->t->hook.fn != NULL) {
        e->t->hook.fn(e->t->hook.arg, e->fd, stage);
    }
}

static void entry_clear(struct entry *e)
{
    if (e->is_made) {
        if (e->fd >= 0) {
            hook(e, CS_TSM_STAGE_DONE);
        }
        (void)unlinkat(e->rootfd, e->name, AT_REMOVEDIR); /* nothing to do if it fails */
    }
    closep(&e->fd);
}

static cs_res errno_code(int err)
{
    switch (err) {
    case ENOENT:
        CS_FAIL(CS_E_NOT_FOUND);
    case ENOMEM:
        CS_FAIL(CS_E_NOMEM);
    default:
        CS_FAIL(CS_E_IO);
    }
}

static cs_res entry_make(struct tsm *t, struct entry *e)
{
    for (int i = 0; i < MKDIR_TRIES; i++) {
        uint32_t rnd = 0;
        CS_ENSURE(getrandom(&rnd, sizeof rnd, 0) == (ssize_t)sizeof rnd, CS_E_IO);
        int n = snprintf(e->name, sizeof e->name, "custos-%ld-%llu-%08x", (long)getpid(),
                         (unsigned long long)t->seq++, (unsigned)rnd);
        CS_ENSURE(n > 0 && (size_t)n < sizeof e->name, CS_E_INTERNAL);
        if (mkdirat(e->rootfd, e->name, 0700) == 0) {
            e->is_made = true;
            e->fd = openat(e->rootfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            CS_ENSURE(e->fd >= 0, CS_E_IO);
            hook(e, CS_TSM_STAGE_CREATED);
            return CS_SUCCESS;
        }
        if (errno != EEXIST) {
            return errno_code(errno);
        }
    }
    CS_FAIL(CS_E_CONFLICT);
}

/* Opens an attribute of the entry: a regular file, never through a symbolic link. */
static cs_res attr_open(const struct entry *e, const char *name, int flags, int *out)
{
    int fd = openat(e->fd, name, flags | ATTR_OPEN);
    if (fd < 0) {
        return errno_code(errno == ELOOP ? EPERM : errno);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        CS_FAIL(CS_E_IO);
    }
    *out = fd;
    return CS_SUCCESS;
}

static cs_res attr_read(const struct entry *e, const char *name, size_t max, struct cs_blob *out)
{
    CS_AUTO(closep) int fd = -1;
    CS_TRY(attr_open(e, name, O_RDONLY, &fd));
    return cs_fd_read(fd, max, out);
}

static cs_res attr_write(const struct entry *e, const char *name, const void *p, size_t n)
{
    CS_AUTO(closep) int fd = -1;
    CS_TRY(attr_open(e, name, O_WRONLY, &fd));
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        CS_ENSURE(w >= 0 || errno != EINVAL, CS_E_ARG); /* the kernel refused the value */
        CS_ENSURE(w > 0, CS_E_IO);
        b += w;
        n -= (size_t)w;
    }
    int last = fd;
    fd = -1;
    int rc = close(last);
    CS_ENSURE(rc == 0, CS_E_IO); /* configfs commits binary attributes on release */
    return CS_SUCCESS;
}

/* A text attribute without its one trailing newline. */
static struct cs_cur text_of(const struct cs_blob *b)
{
    size_t n = b->len;
    if (n > 0 && b->p[n - 1] == '\n') {
        n--;
    }
    return cs_cur_of(b->p, n);
}

static cs_res read_provider(const struct entry *e, bool is_snp)
{
    struct cs_blob b = { 0 };
    CS_TRY(attr_read(e, "provider", PROVIDER_MAX, &b));
    struct cs_cur c = text_of(&b);
    const char *want = is_snp ? "sev_guest" : "tdx_guest";
    bool is_ok = c.left == strlen(want) && memcmp(c.p, want, c.left) == 0;
    cs_blob_clear(&b);
    CS_ENSURE(is_ok, CS_E_UNSUPPORTED); /* another TEE's report format */
    return CS_SUCCESS;
}

static cs_res read_generation(const struct entry *e, uint64_t *out)
{
    struct cs_blob b = { 0 };
    CS_TRY(attr_read(e, "generation", GENERATION_MAX, &b));
    struct cs_cur c = text_of(&b);
    uint64_t v = 0;
    bool is_ok = c.left > 0 && c.left <= 20;
    for (size_t i = 0; is_ok && i < c.left; i++) {
        unsigned d = (unsigned)c.p[i] - '0';
        is_ok = d <= 9 && v <= (UINT64_MAX - d) / 10;
        v = v * 10 + d;
    }
    cs_blob_clear(&b);
    CS_ENSURE(is_ok, CS_E_FORMAT);
    *out = v;
    return CS_SUCCESS;
}

/* The TDX quote's REPORTDATA (v4: TD10 body after the header; v5: type u16, size u32 first). */
static cs_res check_tdx(const struct cs_blob *q, const uint8_t report_data[64])
{
    struct cs_cur c = cs_cur_of(q->p, q->len);
    uint16_t version = 0;
    uint16_t key_type = 0;
    uint32_t tee_type = 0;
    CS_TRY(cs_cur_u16le(&c, &version));
    CS_TRY(cs_cur_u16le(&c, &key_type));
    CS_TRY(cs_cur_u32le(&c, &tee_type));
    CS_ENSURE(version == 4 || version == 5, CS_E_FORMAT);
    CS_ENSURE(tee_type == TDX_TEE_TYPE, CS_E_FORMAT);
    CS_TRY(cs_cur_skip(&c, TDX_HEADER_LEN - 8));
    if (version == 5) {
        CS_TRY(cs_cur_skip(&c, 6));
    }
    CS_TRY(cs_cur_skip(&c, TDX_BODY_REPORT_DATA_OFF));
    struct cs_cur rd;
    CS_TRY(cs_cur_view(&c, CS_ATTESTER_REPORT_DATA_LEN, &rd));
    CS_ENSURE(cs_ct_equal(rd.p, report_data, CS_ATTESTER_REPORT_DATA_LEN), CS_E_BINDING);
    return CS_SUCCESS;
}

static cs_res tsm_evidence(void *impl, const uint8_t report_data[64], json_t **evidence)
{
    struct tsm *t = impl;
    CS_AUTO(closep) int rootfd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        return errno_code(errno);
    }
    CS_AUTO(entry_clear) struct entry e = { .t = t, .rootfd = rootfd, .fd = -1 };
    CS_TRY(entry_make(t, &e));
    CS_TRY(read_provider(&e, t->is_snp));
    uint64_t n_writes = 0;
    if (t->has_privlevel) {
        char level[4];
        int n = snprintf(level, sizeof level, "%u", t->privlevel);
        CS_ENSURE(n > 0 && (size_t)n < sizeof level, CS_E_INTERNAL);
        CS_TRY(attr_write(&e, "privlevel", level, (size_t)n));
        n_writes++;
    }
    CS_TRY(attr_write(&e, "inblob", report_data, CS_ATTESTER_REPORT_DATA_LEN));
    n_writes++;
    hook(&e, CS_TSM_STAGE_WRITTEN);

    uint64_t before = 0;
    CS_TRY(read_generation(&e, &before));
    CS_ENSURE(before == n_writes, CS_E_CONFLICT); /* someone else wrote into our entry */
    CS_AUTO(cs_blob_clear) struct cs_blob out = { 0 };
    CS_AUTO(cs_blob_clear) struct cs_blob aux = { 0 };
    CS_TRY(attr_read(&e, "outblob", CS_ATTESTER_OUTBLOB_MAX, &out));
    if (t->is_snp) {
        cs_res r = attr_read(&e, "auxblob", CS_ATTESTER_AUXBLOB_MAX, &aux);
        CS_ENSURE(cs_ok(r) || r.code == CS_E_NOT_FOUND, r.code); /* not every kernel has it */
    }
    hook(&e, CS_TSM_STAGE_READ);
    uint64_t after = 0;
    CS_TRY(read_generation(&e, &after));
    CS_ENSURE(after == before, CS_E_CONFLICT); /* outblob may belong to another inblob */

    if (!t->is_snp) {
        CS_TRY(check_tdx(&out, report_data));
        return cs_attest_tdx_evidence(out.p, out.len, evidence);
    }
    CS_ENSURE(out.len == SNP_REPORT_LEN, CS_E_FORMAT);
    CS_ENSURE(cs_ct_equal(out.p + SNP_REPORT_DATA_OFF, report_data, CS_ATTESTER_REPORT_DATA_LEN),
              CS_E_BINDING);
    return cs_attest_snp_evidence(out.p, out.len, aux.p, aux.len, evidence);
}

static void tsm_free(void *impl)
{
    struct tsm *t = impl;
    if (t != NULL) {
        cs_free(t->root);
        cs_free(t);
    }
}

static const struct cs_attester_ops tdx_ops = {
    .tee = "tdx",
    .evidence = tsm_evidence,
    .release = tsm_free,
};

static const struct cs_attester_ops snp_ops = {
    .tee = "snp",
    .evidence = tsm_evidence,
    .release = tsm_free,
};

CS_RESULT cs_attest_tsm_open(const struct cs_attester_opts *o, bool is_snp,
                             const struct cs_attester_ops **ops, void **impl)
{
    CS_ENSURE(o != NULL && ops != NULL && impl != NULL, CS_E_ARG);
    CS_ENSURE(!o->has_privlevel || o->privlevel <= CS_ATTESTER_PRIVLEVEL_MAX, CS_E_ARG);
    const char *root = o->tsm_root != NULL ? o->tsm_root : CS_ATTESTER_TSM_ROOT_DEFAULT;
    size_t n = strnlen(root, PATH_MAX);
    CS_ENSURE(n > 0 && n < PATH_MAX, CS_E_ARG);
    struct stat st;
    if (stat(root, &st) != 0) {
        return errno_code(errno);
    }
    CS_ENSURE(S_ISDIR(st.st_mode), CS_E_NOT_FOUND);
    struct tsm *t = NULL;
    CS_TRY(cs_alloc(1, sizeof *t, (void **)&t));
    *t = (struct tsm){ .is_snp = is_snp,
                       .has_privlevel = o->has_privlevel,
                       .privlevel = o->privlevel };
    cs_res r = cs_alloc(1, n + 1, (void **)&t->root);
    if (!cs_ok(r)) {
        tsm_free(t);
        return r;
    }
    memcpy(t->root, root, n + 1);
    *ops = is_snp ? &snp_ops : &tdx_ops;
    *impl = t;
    return CS_SUCCESS;
}

void cs_attest_tsm_set_hook(void *impl, const struct cs_tsm_hook *hook_in)
{
    struct tsm *t = impl;
    t->hook = *hook_in;
}

/* ---- SNP: the report and certificate table as the KBS JSON evidence ----------------- */

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

static json_t *bytes_json(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_integer(p[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static cs_res set_uint(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    uint64_t v = le(p, n);
    CS_ENSURE(v <= (uint64_t)INT64_MAX, CS_E_FORMAT); /* jansson's integers are signed */
    return cs_json_set_new(o, key, json_integer((json_int_t)v));
}

/* TCB_VERSION as sev 4.x reads it: the raw bytes, so any product's layout round-trips. */
static json_t *tcb_json(const uint8_t *t)
{
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "bootloader", json_integer(t[0])) != 0 ||
        json_object_set_new(o, "tee", json_integer(t[1])) != 0 ||
        json_object_set_new(o, "_reserved", bytes_json(t + 2, 4)) != 0 ||
        json_object_set_new(o, "snp", json_integer(t[6])) != 0 ||
        json_object_set_new(o, "microcode", json_integer(t[7])) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * virtee/sev 1.x-4.x `AttestationReport` serde JSON: the raw layout with its reserved
 * fields, which writes every one of the 1184 bytes, so the re-encoding of
 * src/evidence/snp_kbs.c is the outblob exactly, whatever the report version.
 */
static cs_res report_json(const uint8_t *r, json_t **out)
{
    static const struct {
        const char *key;
        uint16_t off;
        uint16_t n;
        char kind; /* u: integer, b: byte array, t: TCB_VERSION */
    } fields[] = {
        { "version", 0x00, 4, 'u' },         { "guest_svn", 0x04, 4, 'u' },
        { "policy", 0x08, 8, 'u' },          { "family_id", 0x10, 16, 'b' },
        { "image_id", 0x20, 16, 'b' },       { "vmpl", 0x30, 4, 'u' },
        { "sig_algo", 0x34, 4, 'u' },        { "current_tcb", 0x38, 8, 't' },
        { "plat_info", 0x40, 8, 'u' },       { "key_info", 0x48, 4, 'u' },
        { "_reserved_0", 0x4C, 4, 'u' },     { "report_data", 0x50, 64, 'b' },
        { "measurement", 0x90, 48, 'b' },    { "host_data", 0xC0, 32, 'b' },
        { "id_key_digest", 0xE0, 48, 'b' },  { "author_key_digest", 0x110, 48, 'b' },
        { "report_id", 0x140, 32, 'b' },     { "report_id_ma", 0x160, 32, 'b' },
        { "reported_tcb", 0x180, 8, 't' },   { "_reserved_1", 0x188, 24, 'b' },
        { "chip_id", 0x1A0, 64, 'b' },       { "committed_tcb", 0x1E0, 8, 't' },
        { "current_build", 0x1E8, 1, 'u' },  { "current_minor", 0x1E9, 1, 'u' },
        { "current_major", 0x1EA, 1, 'u' },  { "_reserved_2", 0x1EB, 1, 'u' },
        { "committed_build", 0x1EC, 1, 'u' }, { "committed_minor", 0x1ED, 1, 'u' },
        { "committed_major", 0x1EE, 1, 'u' }, { "_reserved_3", 0x1EF, 1, 'u' },
        { "launch_tcb", 0x1F0, 8, 't' },     { "_reserved_4", 0x1F8, 168, 'b' },
    };
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const uint8_t *p = r + fields[i].off;
        switch (fields[i].kind) {
        case 'u':
            CS_TRY(set_uint(o, fields[i].key, p, fields[i].n));
            break;
        case 'b':
            CS_TRY(cs_json_set_new(o, fields[i].key, bytes_json(p, fields[i].n)));
            break;
        case 't':
            CS_TRY(cs_json_set_new(o, fields[i].key, tcb_json(p)));
            break;
        default:
            CS_FAIL(CS_E_INTERNAL);
        }
    }
    CS_AUTO_JSON *sig = json_object();
    CS_ENSURE(sig != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(sig, "r", bytes_json(r + SNP_SIGNED_LEN, 72)));
    CS_TRY(cs_json_set_new(sig, "s", bytes_json(r + SNP_SIGNED_LEN + 72, 72)));
    CS_TRY(cs_json_set_new(sig, "_reserved",
                           bytes_json(r + SNP_SIGNED_LEN + 144, SNP_REPORT_LEN - SNP_SIGNED_LEN - 144)));
    CS_TRY(cs_json_set_new(o, "signature", CS_MOVE(sig)));
    *out = CS_MOVE(o);
    return CS_SUCCESS;
}

/* The virtee/sev CertType of a table GUID (bytes in their printed order). */
static cs_res cert_type_json(const uint8_t guid[16], json_t **out)
{
    static const struct {
        const char *name;
        uint8_t guid[16];
    } known[] = {
        { "ARK", { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01,
                   0x4c, 0xd0, 0xae } },
        { "ASK", { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3,
                   0x27, 0xc7, 0x82 } },
        { "VCEK", { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b,
                    0xe8, 0xac, 0xcd } },
        { "VLEK", { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45,
                    0xa0, 0xb8, 0xa1 } },
        { "CRL", { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88,
                   0xdc, 0x67, 0xea } },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (memcmp(guid, known[i].guid, 16) == 0) {
            *out = json_string(known[i].name);
            CS_ENSURE(*out != NULL, CS_E_NOMEM);
            return CS_SUCCESS;
        }
    }
    char uuid[37];
    int n = snprintf(uuid, sizeof uuid,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     guid[0], guid[1], guid[2], guid[3], guid[4], guid[5], guid[6], guid[7],
                     guid[8], guid[9], guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]);
    CS_ENSURE(n == 36, CS_E_INTERNAL);
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(o, "OTHER", json_string(uuid)));
    *out = CS_MOVE(o);
    return CS_SUCCESS;
}

/*
 * GHCB 56421, "SNP Extended Guest Request": the certificate table is a list of entries
 * {GUID[16], offset u32, length u32} (little-endian; offsets from the table's start)
 * ended by an all-zero entry, followed by the certificates. Zero-length entries are skipped.
 */
static cs_res cert_chain_json(const uint8_t *aux, size_t aux_len, json_t **out)
{
    *out = NULL;
    if (aux_len == 0) {
        return CS_SUCCESS; /* no certificates: "cert_chain": null */
    }
    static const uint8_t zero[SNP_TABLE_ENTRY_LEN] = { 0 };
    CS_AUTO_JSON *chain = json_array();
    CS_ENSURE(chain != NULL, CS_E_NOMEM);
    struct cs_cur table = cs_cur_of(aux, aux_len);
    for (size_t i = 0;; i++) {
        struct cs_cur ent;
        CS_ENSURE(cs_ok(cs_cur_view(&table, SNP_TABLE_ENTRY_LEN, &ent)), CS_E_FORMAT);
        if (memcmp(ent.p, zero, sizeof zero) == 0) {
            break;
        }
        CS_ENSURE(i < SNP_TABLE_ENTRIES_MAX, CS_E_TOO_LARGE);
        uint8_t guid[16];
        uint32_t off = 0;
        uint32_t len = 0;
        CS_TRY(cs_cur_copy(&ent, guid, sizeof guid));
        CS_TRY(cs_cur_u32le(&ent, &off));
        CS_TRY(cs_cur_u32le(&ent, &len));
        if (len == 0) {
            continue;
        }
        CS_ENSURE(len <= SNP_CERT_MAX, CS_E_TOO_LARGE);
        struct cs_cur all = cs_cur_of(aux, aux_len);
        struct cs_cur der;
        CS_ENSURE(cs_ok(cs_cur_skip(&all, off)) && cs_ok(cs_cur_view(&all, len, &der)),
                  CS_E_FORMAT); /* the certificate lies outside auxblob */
        CS_AUTO_JSON *e = json_object();
        CS_ENSURE(e != NULL, CS_E_NOMEM);
        json_t *type = NULL;
        CS_TRY(cert_type_json(guid, &type));
        CS_TRY(cs_json_set_new(e, "cert_type", type));
        CS_TRY(cs_json_set_new(e, "data", bytes_json(der.p, der.left)));
        CS_ENSURE(json_array_append(chain, e) == 0, CS_E_NOMEM);
    }
    if (json_array_size(chain) > 0) {
        *out = CS_MOVE(chain);
    }
    return CS_SUCCESS;
}

CS_RESULT cs_attest_snp_evidence(const uint8_t *report, size_t report_len, const uint8_t *aux,
                                 size_t aux_len, json_t **evidence)
{
    CS_ENSURE(evidence != NULL, CS_E_ARG);
    *evidence = NULL;
    CS_ENSURE(report != NULL && (aux != NULL || aux_len == 0), CS_E_ARG);
    CS_ENSURE(report_len == SNP_REPORT_LEN, CS_E_FORMAT);
    CS_ENSURE(aux_len <= CS_ATTESTER_AUXBLOB_MAX, CS_E_TOO_LARGE);
    CS_AUTO_JSON *rep = NULL;
    CS_AUTO_JSON *chain = NULL;
    CS_TRY(report_json(report, &rep));
    CS_TRY(cert_chain_json(aux, aux_len, &chain));
    CS_AUTO_JSON *o = json_object();
    CS_ENSURE(o != NULL, CS_E_NOMEM);
    CS_TRY(cs_json_set_new(o, "attestation_report", CS_MOVE(rep)));
    CS_TRY(cs_json_set_new(o, "cert_chain", chain != NULL ? CS_MOVE(chain) : json_null()));
    *evidence = CS_MOVE(o);
    return CS_SUCCESS;
}
