/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands of the custos CLI. Exit codes: 0 success/verified, 1 rejected, 2 usage/I/O. */
#ifndef CUSTOS_CLI_H
#define CUSTOS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "custos/result.h"
#include "custos/verdict.h"

#define CLI_OK 0
#define CLI_REJECTED 1
#define CLI_USAGE 2

int cmd_verify(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_sim(int argc, char **argv);
#ifdef CS_HAVE_AGENT
int cmd_agent(int argc, char **argv);
#endif

/* What `custos verify` was asked, with the evidence already read (NULL when absent). */
struct verify_opts {
    const char *evidence_path;
    const uint8_t *evidence;
    size_t evidence_len;
    const char *collateral; /* directory */
    const char *platform;   /* as given, or as detected */
    const char *nonce_hex;  /* --nonce, or NULL */
    int64_t at;
    bool is_json;
};

/* One verifier per platform family: returns the exit status and prints the outcome. */
int verify_dcap(const struct verify_opts *o);
#ifdef CS_HAVE_SNP
int verify_snp(const struct verify_opts *o);
#endif
#ifdef CS_HAVE_NITRO
int verify_nitro(const struct verify_opts *o);
#endif
#ifdef CS_HAVE_TPM
int verify_tpm(const struct verify_opts *o);
#endif

/* Prints a verdict (JSON object or summary) and returns CLI_OK or CLI_REJECTED. */
int cli_print_verdict(const struct verify_opts *o, const struct custos_verdict *v);

/*
 * Prints a failure that happened before a verdict existed (collateral unusable). I/O and
 * argument problems go to stderr with CLI_USAGE; verdict-class failures are reported
 * like a rejected verdict with CLI_REJECTED.
 */
int cli_report_diag(const struct verify_opts *o, const struct custos_diag *d, cs_code code);

#endif
