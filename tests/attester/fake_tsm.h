/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake configfs-tsm "kernel" for the attester tests: a hook (cs_tsm_hook) that plays the
 * kernel's part on a plain directory at the points where configfs acts synchronously. On
 * mkdir it creates the attribute files; once inblob is written it sets generation to the
 * number of writes and makes outblob: a real development TDX quote (cs_dev_attester_quote)
 * for the inblob, or a crafted SNP report carrying the inblob at REPORT_DATA plus an auxblob
 * certificate table; before rmdir it removes the files. Faults are switched on per test.
 */
#ifndef CS_TESTS_FAKE_TSM_H
#define CS_TESTS_FAKE_TSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/attester.h"
#include "sim/dev_attester.h"

#define FAKE_SNP_REPORT_LEN 1184

struct fake_tsm {
    const char *provider;             /* "tdx_guest" or "sev_guest" */
    const struct cs_dev_attester *dev; /* tdx: makes the quotes */
    const char *omit;                 /* an attribute file not created, or NULL */
    bool is_race_before;              /* another writer: generation one ahead at first read */
    bool is_race_after;               /* another writer between outblob and the re-read */
    bool is_oversized;                /* outblob one byte over CS_ATTESTER_OUTBLOB_MAX */
    bool is_stale;                    /* outblob for other report data */
    bool is_outblob_symlink;          /* outblob a symbolic link to a regular file */
    const uint8_t *aux;               /* snp: auxblob content (NULL: empty) */
    size_t aux_len;
    /* observed */
    int n_created, n_written, n_done;
    uint8_t inblob[64];
    char privlevel[8];
    uint8_t report[FAKE_SNP_REPORT_LEN]; /* snp: the last report made */
};

/* The hook of f (borrowed: f must outlive the attester's use of it). */
struct cs_tsm_hook fake_tsm_hook(struct fake_tsm *f);

/* The number of entries in dir (0: every report entry was removed). */
int fake_tsm_count_entries(const char *dir);

#endif
