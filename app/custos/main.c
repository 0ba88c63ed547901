/* SPDX-License-Identifier: Apache-2.0 */
/* custos: one CLI for agents, operators and auditors. Dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: custos <command> [options]\n"
          "\n"
          "commands:\n"
          "  verify   verify TEE evidence against collateral and print the verdict and claims\n"
          "  log      the audit log: keys, appends, checkpoints, proofs, tiles, receipts\n"
          "\n"
          "custos <command> --help shows the options of a command.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "verify") == 0) {
        return cmd_verify(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "log") == 0) {
        return cmd_log(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    fprintf(stderr, "custos: unknown command '%.64s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
