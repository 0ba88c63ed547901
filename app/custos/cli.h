/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands of the custos CLI. Exit codes: 0 success/verified, 1 rejected, 2 usage/I/O. */
#ifndef CUSTOS_CLI_H
#define CUSTOS_CLI_H

#include <stdio.h>

#define CLI_OK 0
#define CLI_REJECTED 1
#define CLI_USAGE 2

int cmd_verify(int argc, char **argv);

#endif
