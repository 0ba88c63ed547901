/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custos log: the audit log from the command line (docs/audit-log.md).
 *
 *   keygen --name ORIGIN                          signer key, then verifier key
 *   append --db FILE [--entry FILE|-]             the new entry's index
 *   checkpoint --db FILE --key SIGNERKEY          a signed checkpoint of the current tree
 *   prove inclusion --db FILE --index I [--size N] [--json] [--checkpoint NOTE]
 *   prove consistency --db FILE --old M [--new N] [--json]
 *   verify checkpoint --vkey V [--vkey V...] [--witness V... --quorum K] [--origin O] < NOTE
 *   verify inclusion|consistency [--json FILE|-] | [flags]
 *   verify receipt --vkey V [...] --entry FILE < RECEIPT
 *   tiles --db FILE --out DIR (--checkpoint NOTE | --key SIGNERKEY)
 *
 * SIGNERKEY is a file holding the key (recommended: mode 0600) or the key itself.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "custos/tlog.h"
#include "core/cs_b64.h"
#include "core/cs_file.h"
#include "core/cs_hex.h"
#include "core/cs_mem.h"
#include "store/log_sqlite.h"
#include "tlog/log.h"

#define H CS_MERKLE_HASH_LEN
#define MAX_KEYS 32
#define NOTE_MAX (64u * 1024u)

struct log_opts {
    const char *db, *entry, *key, *out, *name, *json, *checkpoint, *origin;
    const char *leaf_hex, *root_hex, *old_root_hex, *new_root_hex, *proof_hex;
    uint64_t index, size, old_size, new_size, quorum;
    bool has_index, has_size, has_old, has_new, is_json;
    const char *vkeys[MAX_KEYS];
    size_t n_vkeys;
    const char *witnesses[MAX_KEYS];
    size_t n_witnesses;
};

static void usage(FILE *f)
{
    fputs("usage: custos log keygen --name ORIGIN\n"
          "       custos log append --db FILE [--entry FILE|-]\n"
          "       custos log checkpoint --db FILE --key SIGNERKEY\n"
          "       custos log prove inclusion --db FILE --index I [--size N] [--json]\n"
          "                                  [--checkpoint NOTE]   (a tlog-proof receipt)\n"
          "       custos log prove consistency --db FILE --old M [--new N] [--json]\n"
          "       custos log verify checkpoint --vkey V [--vkey V...] [--witness V...\n"
          "                                    --quorum K] [--origin O] < NOTE\n"
          "       custos log verify inclusion [--json FILE|-] | --index I --size N\n"
          "                                   (--leaf HEX | --entry FILE) --root HEX --proof HEX,..\n"
          "       custos log verify consistency [--json FILE|-] | --old M --new N\n"
          "                                     --old-root HEX --new-root HEX --proof HEX,..\n"
          "       custos log verify receipt --vkey V [...] --entry FILE < RECEIPT\n"
          "       custos log tiles --db FILE --out DIR (--checkpoint NOTE | --key SIGNERKEY)\n",
          f);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 20) {
        return false;
    }
    uint64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

static int parse_opts(int argc, char **argv, struct log_opts *o)
{
    enum { O_LEAF = 256, O_ROOT, O_OLD_ROOT, O_NEW_ROOT, O_PROOF, O_ORIGIN };
    static const struct option longs[] = {
        { "db", required_argument, NULL, 'd' },        { "entry", required_argument, NULL, 'e' },
        { "key", required_argument, NULL, 'k' },       { "out", required_argument, NULL, 'o' },
        { "name", required_argument, NULL, 'n' },      { "index", required_argument, NULL, 'i' },
        { "size", required_argument, NULL, 's' },      { "old", required_argument, NULL, 'm' },
        { "new", required_argument, NULL, 'N' },       { "vkey", required_argument, NULL, 'v' },
        { "witness", required_argument, NULL, 'w' },   { "quorum", required_argument, NULL, 'q' },
        { "json", optional_argument, NULL, 'j' },      { "checkpoint", required_argument, NULL, 'c' },
        { "leaf", required_argument, NULL, O_LEAF },   { "root", required_argument, NULL, O_ROOT },
        { "old-root", required_argument, NULL, O_OLD_ROOT },
        { "new-root", required_argument, NULL, O_NEW_ROOT },
        { "proof", required_argument, NULL, O_PROOF }, { "help", no_argument, NULL, 'h' },
        { "origin", required_argument, NULL, O_ORIGIN },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        bool is_ok = true;
        switch (ch) {
        case 'd': o->db = optarg; break;
        case 'e': o->entry = optarg; break;
        case 'k': o->key = optarg; break;
        case 'o': o->out = optarg; break;
        case 'n': o->name = optarg; break;
        case 'c': o->checkpoint = optarg; break;
        case 'i': is_ok = o->has_index = parse_u64(optarg, &o->index); break;
        case 's': is_ok = o->has_size = parse_u64(optarg, &o->size); break;
        case 'm': is_ok = o->has_old = parse_u64(optarg, &o->old_size); break;
        case 'N': is_ok = o->has_new = parse_u64(optarg, &o->new_size); break;
        case 'q': is_ok = parse_u64(optarg, &o->quorum); break;
        case 'v':
            is_ok = o->n_vkeys < MAX_KEYS;
            if (is_ok) {
                o->vkeys[o->n_vkeys++] = optarg;
            }
            break;
        case 'w':
            is_ok = o->n_witnesses < MAX_KEYS;
            if (is_ok) {
                o->witnesses[o->n_witnesses++] = optarg;
            }
            break;
        case 'j':
            o->is_json = true;
            o->json = optarg;
            break;
        case O_LEAF: o->leaf_hex = optarg; break;
        case O_ROOT: o->root_hex = optarg; break;
        case O_OLD_ROOT: o->old_root_hex = optarg; break;
        case O_NEW_ROOT: o->new_root_hex = optarg; break;
        case O_PROOF: o->proof_hex = optarg; break;
        case O_ORIGIN: o->origin = optarg; break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            is_ok = false;
        }
        if (!is_ok) {
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (o->is_json && o->json == NULL && optind + 1 == argc) {
        o->json = argv[optind++]; /* "--json FILE" as well as "--json=FILE" */
    }
    if (optind != argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int fail(const char *what, cs_res r)
{
    fprintf(stderr, "custos log: %s: %s\n", what, custos_code_name(r.code));
    return r.code == CS_E_IO || r.code == CS_E_ARG || r.code == CS_E_STORE ? CLI_USAGE
                                                                           : CLI_REJECTED;
}

static cs_res open_log(const char *db, struct cs_log **log)
{
    CS_ENSURE(db != NULL, CS_E_ARG);
    struct cs_log_store store;
    CS_TRY(cs_log_sqlite_open(db, &store));
    return cs_log_open(store, log);
}

/* Reads a path, or stdin for "-" or NULL. */
static cs_res read_input(const char *path, size_t max, struct cs_blob *out)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        return cs_fd_read(STDIN_FILENO, max, out);
    }
    return cs_file_read(path, max, out);
}

static cs_res load_signer(const char *arg, struct cs_note_signer *s)
{
    CS_ENSURE(arg != NULL, CS_E_ARG);
    struct cs_blob b = { 0 };
    if (strncmp(arg, "PRIVATE+KEY+", 12) == 0) {
        return cs_note_signer_parse(cs_cur_of((const uint8_t *)arg, strlen(arg)), s);
    }
    CS_TRY(cs_file_read(arg, 4096, &b));
    size_t len = b.len;
    while (len > 0 && (b.p[len - 1] == '\n' || b.p[len - 1] == '\r')) {
        len--;
    }
    cs_res r = cs_note_signer_parse(cs_cur_of(b.p, len), s);
    cs_wipe(b.p, b.len);
    cs_blob_clear(&b);
    return r;
}

static int log_keygen(const struct log_opts *o)
{
    if (o->name == NULL) {
        usage(stderr);
        return CLI_USAGE;
    }
    char skey[CS_NOTE_SKEY_MAX];
    char vkey[CS_NOTE_VKEY_MAX];
    cs_res r = cs_note_keygen(o->name, skey, vkey);
    if (!cs_ok(r)) {
        return fail("keygen (the name must be non-empty, without spaces or '+')", r);
    }
    printf("%s\n%s\n", skey, vkey);
    cs_wipe(skey, sizeof skey);
    return CLI_OK;
}

static int log_append(const struct log_opts *o)
{
    struct cs_blob e = { 0 };
    cs_res r = read_input(o->entry, CS_LOG_ENTRY_MAX, &e);
    if (!cs_ok(r)) {
        return fail("entry", r);
    }
    struct cs_log *log = NULL;
    r = open_log(o->db, &log);
    uint64_t index = 0;
    if (cs_ok(r)) {
        r = cs_log_append(log, cs_cur_of(e.p, e.len), &index);
    }
    cs_log_close(log);
    cs_blob_clear(&e);
    if (!cs_ok(r)) {
        return fail("append", r);
    }
    printf("%llu\n", (unsigned long long)index);
    return CLI_OK;
}

static cs_res sign_checkpoint(struct cs_log *log, const char *key, char *note, size_t *len,
                              uint64_t *size)
{
    struct cs_note_signer s = { 0 };
    CS_TRY(load_signer(key, &s));
    cs_res r = cs_log_checkpoint(log, &s, note, CS_LOG_NOTE_MAX, len, size);
    cs_note_signer_clear(&s);
    return r;
}

static int log_checkpoint(const struct log_opts *o)
{
    struct cs_log *log = NULL;
    cs_res r = open_log(o->db, &log);
    char note[CS_LOG_NOTE_MAX];
    size_t len = 0;
    uint64_t size = 0;
    if (cs_ok(r)) {
        r = sign_checkpoint(log, o->key, note, &len, &size);
    }
    cs_log_close(log);
    if (!cs_ok(r)) {
        return fail("checkpoint", r);
    }
    fwrite(note, 1, len, stdout);
    return CLI_OK;
}

static void print_hex_array(const uint8_t *proof, size_t n, FILE *f)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        char hex[2 * H + 1];
        (void)cs_ok(cs_hex_encode(proof + i * H, H, hex, sizeof hex));
        fprintf(f, "%s\"%s\"", i > 0 ? "," : "", hex);
    }
    fputc(']', f);
}

static void hex_of(const uint8_t h[H], char out[2 * H + 1])
{
    (void)cs_ok(cs_hex_encode(h, H, out, 2 * H + 1));
}

static void print_b64_lines(const uint8_t *proof, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char b64[48];
        (void)cs_ok(cs_b64_encode(proof + i * H, H, b64, sizeof b64));
        printf("%s\n", b64);
    }
}

static int log_prove(const char *kind, const struct log_opts *o)
{
    struct cs_log *log = NULL;
    cs_res r = open_log(o->db, &log);
    uint8_t a[H], b[H], proof[CS_MERKLE_PROOF_MAX * H];
    size_t n = 0;
    uint64_t size = 0;
    struct cs_blob cp = { 0 };
    struct cs_checkpoint ck;
    static struct cs_note note;
    if (cs_ok(r) && o->checkpoint != NULL) {
        r = cs_file_read(o->checkpoint, NOTE_MAX, &cp);
        if (cs_ok(r)) {
            r = cs_note_parse(cp.p, cp.len, &note);
        }
        if (cs_ok(r)) {
            r = cs_checkpoint_parse(note.text, &ck);
        }
    }
    if (cs_ok(r)) {
        r = cs_log_size(log, &size);
    }
    bool is_inclusion = strcmp(kind, "inclusion") == 0;
    uint64_t s1 = is_inclusion ? o->index : o->old_size;
    uint64_t s2 = o->checkpoint != NULL ? ck.size
                  : is_inclusion        ? (o->has_size ? o->size : size)
                                        : (o->has_new ? o->new_size : size);
    if (cs_ok(r) && ((is_inclusion && !o->has_index) || (!is_inclusion && !o->has_old))) {
        r = (cs_res){ .code = CS_E_ARG };
    }
    if (cs_ok(r)) {
        r = is_inclusion ? cs_log_prove_inclusion(log, s1, s2, a, b, proof, &n)
                         : cs_log_prove_consistency(log, s1, s2, a, b, proof, &n);
    }
    cs_log_close(log);
    if (cs_ok(r) && o->checkpoint != NULL && memcmp(b, ck.root, H) != 0) {
        r = (cs_res){ .code = CS_E_BINDING }; /* the checkpoint is not of this log */
    }
    if (!cs_ok(r)) {
        cs_blob_clear(&cp);
        return fail(is_inclusion ? "prove inclusion" : "prove consistency", r);
    }
    char ha[2 * H + 1], hb[2 * H + 1];
    hex_of(a, ha);
    hex_of(b, hb);
    if (o->checkpoint != NULL) { /* C2SP tlog-proof receipt */
        printf("c2sp.org/tlog-proof@v1\nindex %llu\n", (unsigned long long)s1);
        print_b64_lines(proof, n);
        printf("\n");
        fwrite(cp.p, 1, cp.len, stdout);
    } else if (o->is_json && is_inclusion) {
        printf("{\"index\":%llu,\"size\":%llu,\"leaf_hash\":\"%s\",\"proof\":",
               (unsigned long long)s1, (unsigned long long)s2, ha);
        print_hex_array(proof, n, stdout);
        printf(",\"root\":\"%s\"}\n", hb);
    } else if (o->is_json) {
        printf("{\"old_size\":%llu,\"new_size\":%llu,\"old_root\":\"%s\",\"new_root\":\"%s\","
               "\"proof\":",
               (unsigned long long)s1, (unsigned long long)s2, ha, hb);
        print_hex_array(proof, n, stdout);
        printf("}\n");
    } else {
        print_b64_lines(proof, n);
    }
    cs_blob_clear(&cp);
    return CLI_OK;
}

/* Parses the verifier keys given; a bad key is a usage error (CS_E_ARG). */
static cs_res parse_vkeys(const char *const *texts, size_t n, struct cs_note_vkey *keys)
{
    for (size_t i = 0; i < n; i++) {
        cs_res r = cs_note_vkey_parse(cs_cur_of((const uint8_t *)texts[i], strlen(texts[i])),
                                      &keys[i]);
        if (!cs_ok(r)) {
            fprintf(stderr, "custos log: not a verifier key: %.64s\n", texts[i]);
            CS_FAIL(CS_E_ARG);
        }
    }
    return CS_SUCCESS;
}

/* Opens a checkpoint note under the policy of --vkey, --witness, --quorum and --origin. */
static cs_res open_checkpoint(const struct log_opts *o, const uint8_t *p, size_t len,
                              struct cs_note *note, struct cs_checkpoint *cp, size_t *n_wit)
{
    struct cs_note_vkey logs[MAX_KEYS];
    struct cs_note_vkey wits[MAX_KEYS];
    CS_ENSURE(o->n_vkeys > 0 && o->quorum <= o->n_witnesses, CS_E_ARG);
    CS_TRY(parse_vkeys(o->vkeys, o->n_vkeys, logs));
    CS_TRY(parse_vkeys(o->witnesses, o->n_witnesses, wits));
    struct cs_checkpoint_policy pol = { logs, o->n_vkeys, wits, o->n_witnesses,
                                        (size_t)o->quorum, o->origin };
    return cs_checkpoint_open(p, len, &pol, note, cp, n_wit);
}

static int verify_checkpoint(const struct log_opts *o)
{
    struct cs_blob in = { 0 };
    cs_res r = read_input(NULL, NOTE_MAX, &in);
    static struct cs_note note;
    struct cs_checkpoint cp;
    size_t n_wit = 0;
    if (cs_ok(r)) {
        r = open_checkpoint(o, in.p, in.len, &note, &cp, &n_wit);
    }
    if (cs_ok(r)) {
        char b64[48];
        (void)cs_ok(cs_b64_encode(cp.root, H, b64, sizeof b64));
        printf("OK origin %.*s size %llu root %s witnesses %zu\n", (int)cp.origin.left,
               (const char *)cp.origin.p, (unsigned long long)cp.size, b64, n_wit);
    }
    cs_blob_clear(&in);
    return cs_ok(r) ? CLI_OK : fail("verify checkpoint", r);
}

static cs_res hex32(const char *s, uint8_t out[H])
{
    CS_ENSURE(s != NULL, CS_E_ARG);
    return cs_hex_decode(s, strlen(s), out, H);
}

/* "HEX,HEX,..." or a JSON array of hex strings into proof. */
static cs_res proof_from_list(const char *list, uint8_t *proof, size_t *n)
{
    *n = 0;
    if (list == NULL || *list == '\0') {
        return CS_SUCCESS;
    }
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        CS_ENSURE(*n < CS_MERKLE_PROOF_MAX, CS_E_TOO_LARGE);
        CS_TRY(cs_hex_decode(p, len, proof + (*n)++ * H, H));
        if (comma == NULL) {
            return CS_SUCCESS;
        }
        p = comma + 1;
    }
}

static cs_res proof_from_json(const json_t *arr, uint8_t *proof, size_t *n)
{
    CS_ENSURE(json_is_array(arr) && json_array_size(arr) <= CS_MERKLE_PROOF_MAX, CS_E_FORMAT);
    *n = json_array_size(arr);
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        CS_ENSURE(s != NULL, CS_E_FORMAT);
        CS_TRY(cs_hex_decode(s, strlen(s), proof + i * H, H));
    }
    return CS_SUCCESS;
}

static cs_res json_u64(const json_t *o, const char *k, uint64_t *out)
{
    const json_t *v = json_object_get(o, k);
    CS_ENSURE(json_is_integer(v) && json_integer_value(v) >= 0, CS_E_FORMAT);
    *out = (uint64_t)json_integer_value(v);
    return CS_SUCCESS;
}

static cs_res verify_proof_json(bool is_inclusion, const char *path)
{
    struct cs_blob in = { 0 };
    CS_TRY(read_input(path, NOTE_MAX, &in));
    json_t *j = json_loadb((const char *)in.p, in.len, JSON_REJECT_DUPLICATES, NULL);
    cs_blob_clear(&in);
    CS_ENSURE(json_is_object(j), CS_E_FORMAT);
    uint8_t a[H], b[H], proof[CS_MERKLE_PROOF_MAX * H];
    size_t n = 0;
    uint64_t s1 = 0, s2 = 0;
    cs_res r = json_u64(j, is_inclusion ? "index" : "old_size", &s1);
    if (cs_ok(r)) {
        r = json_u64(j, is_inclusion ? "size" : "new_size", &s2);
    }
    if (cs_ok(r)) {
        r = hex32(json_string_value(json_object_get(j, is_inclusion ? "leaf_hash" : "old_root")),
                  a);
    }
    if (cs_ok(r)) {
        r = hex32(json_string_value(json_object_get(j, is_inclusion ? "root" : "new_root")), b);
    }
    if (cs_ok(r)) {
        r = proof_from_json(json_object_get(j, "proof"), proof, &n);
    }
    json_decref(j);
    CS_TRY(r);
    return is_inclusion ? cs_merkle_verify_inclusion(s1, s2, a, proof, n, b)
                        : cs_merkle_verify_consistency(s1, s2, a, b, proof, n);
}

static cs_res leaf_of(const struct log_opts *o, uint8_t leaf[H])
{
    if (o->leaf_hex != NULL) {
        return hex32(o->leaf_hex, leaf);
    }
    struct cs_blob e = { 0 };
    CS_TRY(cs_file_read(o->entry, CS_LOG_ENTRY_MAX, &e));
    cs_res r = cs_merkle_leaf_hash(cs_cur_of(e.p, e.len), leaf);
    cs_blob_clear(&e);
    return r;
}

static int verify_proof(bool is_inclusion, const struct log_opts *o)
{
    cs_res r;
    if (o->is_json) {
        r = verify_proof_json(is_inclusion, o->json);
    } else {
        uint8_t a[H], b[H], proof[CS_MERKLE_PROOF_MAX * H];
        size_t n = 0;
        r = is_inclusion ? leaf_of(o, a) : hex32(o->old_root_hex, a);
        if (cs_ok(r)) {
            r = hex32(is_inclusion ? o->root_hex : o->new_root_hex, b);
        }
        if (cs_ok(r)) {
            r = proof_from_list(o->proof_hex, proof, &n);
        }
        if (cs_ok(r) && ((is_inclusion && !(o->has_index && o->has_size)) ||
                         (!is_inclusion && !(o->has_old && o->has_new)))) {
            r = (cs_res){ .code = CS_E_ARG };
        }
        if (cs_ok(r)) {
            r = is_inclusion ? cs_merkle_verify_inclusion(o->index, o->size, a, proof, n, b)
                             : cs_merkle_verify_consistency(o->old_size, o->new_size, a, b, proof,
                                                            n);
        }
    }
    if (cs_ok(r)) {
        printf("OK\n");
        return CLI_OK;
    }
    return fail(is_inclusion ? "verify inclusion" : "verify consistency", r);
}

static int verify_receipt(const struct log_opts *o)
{
    struct cs_blob in = { 0 };
    struct cs_blob e = { 0 };
    cs_res r = read_input(NULL, NOTE_MAX, &in);
    if (cs_ok(r)) {
        r = o->entry != NULL ? cs_file_read(o->entry, CS_LOG_ENTRY_MAX, &e)
                             : (cs_res){ .code = CS_E_ARG };
    }
    uint64_t index = 0;
    if (cs_ok(r)) {
        struct custos_tlog_policy pol = { o->vkeys,     o->n_vkeys,        o->witnesses,
                                          o->n_witnesses, (size_t)o->quorum, o->origin };
        struct custos_checkpoint cp;
        r = custos_tlog_receipt_verify(in.p, in.len, e.p, e.len, &pol, &index, &cp);
    }
    cs_blob_clear(&e);
    cs_blob_clear(&in);
    if (!cs_ok(r)) {
        return fail("verify receipt", r);
    }
    printf("OK index %llu\n", (unsigned long long)index);
    return CLI_OK;
}

static int log_tiles(const struct log_opts *o)
{
    if (o->out == NULL || (o->checkpoint == NULL) == (o->key == NULL)) {
        usage(stderr);
        return CLI_USAGE;
    }
    struct cs_log *log = NULL;
    cs_res r = open_log(o->db, &log);
    static char note[CS_LOG_NOTE_MAX];
    struct cs_blob cp = { 0 };
    struct cs_cur text = { 0 };
    uint64_t size = 0;
    if (cs_ok(r) && o->key != NULL) {
        size_t len = 0;
        r = sign_checkpoint(log, o->key, note, &len, &size);
        text = cs_cur_of((const uint8_t *)note, len);
    } else if (cs_ok(r)) {
        static struct cs_note parsed;
        struct cs_checkpoint ck;
        r = cs_file_read(o->checkpoint, NOTE_MAX, &cp);
        if (cs_ok(r)) {
            r = cs_note_parse(cp.p, cp.len, &parsed);
        }
        if (cs_ok(r)) {
            r = cs_checkpoint_parse(parsed.text, &ck);
            size = ck.size;
        }
        text = cs_cur_of(cp.p, cp.len);
    }
    if (cs_ok(r)) {
        r = cs_log_write_tiles(log, size, text, o->out);
    }
    cs_log_close(log);
    cs_blob_clear(&cp);
    if (!cs_ok(r)) {
        return fail("tiles", r);
    }
    printf("%llu\n", (unsigned long long)size);
    return CLI_OK;
}

int cmd_log(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *verb = argv[1];
    const char *kind = NULL;
    int shift = 1;
    if ((strcmp(verb, "prove") == 0 || strcmp(verb, "verify") == 0) && argc >= 3) {
        kind = argv[2];
        shift = 2;
    }
    struct log_opts o;
    int rc = parse_opts(argc - shift, argv + shift, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (strcmp(verb, "keygen") == 0) {
        return log_keygen(&o);
    }
    if (strcmp(verb, "append") == 0) {
        return log_append(&o);
    }
    if (strcmp(verb, "checkpoint") == 0) {
        return log_checkpoint(&o);
    }
    if (strcmp(verb, "tiles") == 0) {
        return log_tiles(&o);
    }
    if (strcmp(verb, "prove") == 0 && kind != NULL &&
        (strcmp(kind, "inclusion") == 0 || strcmp(kind, "consistency") == 0)) {
        return log_prove(kind, &o);
    }
    if (strcmp(verb, "verify") == 0 && kind != NULL) {
        if (strcmp(kind, "checkpoint") == 0) {
            return verify_checkpoint(&o);
        }
        if (strcmp(kind, "inclusion") == 0 || strcmp(kind, "consistency") == 0) {
            return verify_proof(strcmp(kind, "inclusion") == 0, &o);
        }
        if (strcmp(kind, "receipt") == 0) {
            return verify_receipt(&o);
        }
    }
    usage(stderr);
    return CLI_USAGE;
}
