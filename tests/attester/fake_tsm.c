/* SPDX-License-Identifier: Apache-2.0 */
/* The fake configfs-tsm kernel of fake_tsm.h. */
#include "fake_tsm.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(int dirfd, const char *name, const void *p, size_t n)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        abort();
    }
    if (n > 0 && write(fd, p, n) != (ssize_t)n) {
        abort();
    }
    close(fd);
}

static void put_str(int dirfd, const char *name, const char *s)
{
    put(dirfd, name, s, strlen(s));
}

static size_t get(int dirfd, const char *name, void *buf, size_t cap)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}

static void created(struct fake_tsm *f, int dirfd)
{
    static const char *const files[] = { "inblob", "outblob", "auxblob", "privlevel" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (f->omit == NULL || strcmp(f->omit, files[i]) != 0) {
            put(dirfd, files[i], "", 0);
        }
    }
    if (f->omit == NULL || strcmp(f->omit, "provider") != 0) {
        char line[64];
        snprintf(line, sizeof line, "%s\n", f->provider);
        put_str(dirfd, "provider", line);
    }
    if (f->omit == NULL || strcmp(f->omit, "generation") != 0) {
        put_str(dirfd, "generation", "0\n");
    }
    put_str(dirfd, "privlevel_floor", "0\n");
}

/* A version-2 SNP report shape: fields set to recognisable values, REPORT_DATA from inblob. */
static void snp_report(struct fake_tsm *f, const uint8_t rd[64])
{
    uint8_t *r = f->report;
    for (size_t i = 0; i < FAKE_SNP_REPORT_LEN; i++) {
        r[i] = (uint8_t)(i * 7 + 3);
    }
    r[0] = 2; r[1] = 0; r[2] = 0; r[3] = 0; /* version 2 */
    r[0x0F] = 0x00; /* policy below 2^63 */
    r[0x47] = 0x00; /* plat_info below 2^63 */
    memcpy(r + 0x50, rd, 64);
}

static void written(struct fake_tsm *f, int dirfd)
{
    uint8_t rd[64] = { 0 };
    size_t n = get(dirfd, "inblob", rd, sizeof rd);
    memcpy(f->inblob, rd, sizeof rd);
    memset(f->privlevel, 0, sizeof f->privlevel);
    size_t pn = get(dirfd, "privlevel", f->privlevel, sizeof f->privlevel - 1);
    unsigned writes = (n > 0) + (pn > 0) + (f->is_race_before ? 1 : 0);
    char gen[16];
    snprintf(gen, sizeof gen, "%u\n", writes);
    if (f->omit == NULL || strcmp(f->omit, "generation") != 0) {
        put_str(dirfd, "generation", gen);
    }
    if (f->is_stale) {
        rd[0] ^= 1;
    }
    const char *out = f->is_outblob_symlink ? "outblob.real" : "outblob";
    if (f->is_outblob_symlink) {
        unlinkat(dirfd, "outblob", 0);
        if (symlinkat("outblob.real", dirfd, "outblob") != 0) {
            abort();
        }
    }
    if (f->omit != NULL && strcmp(f->omit, "outblob") == 0) {
        return;
    }
    if (f->is_oversized) {
        size_t big = CS_ATTESTER_OUTBLOB_MAX + 1;
        uint8_t *p = calloc(1, big);
        put(dirfd, out, p, big);
        free(p);
        return;
    }
    if (strcmp(f->provider, "sev_guest") == 0) {
        snp_report(f, rd);
        put(dirfd, out, f->report, sizeof f->report);
        if (f->aux != NULL) {
            put(dirfd, "auxblob", f->aux, f->aux_len);
        }
        return;
    }
    struct cs_dev_quote_opts o = { 0 };
    memcpy(o.report_data, rd, sizeof rd);
    uint8_t *q = NULL;
    size_t qlen = 0;
    if (f->dev == NULL || !cs_ok(cs_dev_attester_quote(f->dev, &o, &q, &qlen))) {
        abort();
    }
    put(dirfd, out, q, qlen);
    free(q);
}

static void hook_fn(void *arg, int dirfd, enum cs_tsm_stage stage)
{
    struct fake_tsm *f = arg;
    switch (stage) {
    case CS_TSM_STAGE_CREATED:
        f->n_created++;
        created(f, dirfd);
        break;
    case CS_TSM_STAGE_WRITTEN:
        f->n_written++;
        written(f, dirfd);
        break;
    case CS_TSM_STAGE_READ:
        if (f->is_race_after) {
            char gen[32] = { 0 };
            get(dirfd, "generation", gen, 16);
            snprintf(gen, sizeof gen, "%ld\n", strtol(gen, NULL, 10) + 1);
            put_str(dirfd, "generation", gen);
        }
        break;
    case CS_TSM_STAGE_DONE: {
        f->n_done++;
        static const char *const files[] = { "inblob",     "outblob",         "auxblob",
                                             "privlevel",  "privlevel_floor", "provider",
                                             "generation", "outblob.real" };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            unlinkat(dirfd, files[i], 0);
        }
        break;
    }
    default:
        abort();
    }
}

struct cs_tsm_hook fake_tsm_hook(struct fake_tsm *f)
{
    return (struct cs_tsm_hook){ .fn = hook_fn, .arg = f };
}

int fake_tsm_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}
