/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log's SQLite store (WAL, synchronous=FULL: a commit is on disk when it returns). */
#ifndef CS_STORE_LOG_SQLITE_H
#define CS_STORE_LOG_SQLITE_H

#include "store/log_store.h"

/*
 * Opens (creating when absent, mode 0600) the SQLite log database at path and migrates
 * its schema. On CS_OK *out is ready; close it with out->ops->close(out->ctx).
 * CS_E_STORE when the file cannot be opened or is not a custos log.
 */
CS_RESULT cs_log_sqlite_open(const char *path, struct cs_log_store *out);

#endif
