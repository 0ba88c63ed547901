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
          "  policy   check a policy document, or evaluate a request against it\n"
          "  admin    drive a broker's admin API: resources, policy, reference values\n"
          "  audit    verify a broker's audit log: checkpoint, consistency, every record\n"
          "  fetch    attest to a broker (KBS) and fetch a resource, as a guest does\n"
          "  sim      the development TDX attester: init, quote, kbs-attest (no hardware)\n"
          "  agent    the agent client: attest, resources, attested state, tokens\n"
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
    if (strcmp(argv[1], "admin") == 0) {
        return cmd_admin(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "audit") == 0) {
        return cmd_audit(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "fetch") == 0) {
        return cmd_fetch(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "policy") == 0) {
        return cmd_policy(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "sim") == 0) {
        return cmd_sim(argc - 1, argv + 1);
    }
#ifdef CS_HAVE_AGENT
    if (strcmp(argv[1], "agent") == 0) {
        return cmd_agent(argc - 1, argv + 1);
    }
#endif
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    fprintf(stderr, "custos: unknown command '%.64s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
