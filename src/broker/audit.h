/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit records: every decision of the broker is one JCS-canonical (RFC 8785) JSON object
 * appended to the audit log (docs/audit-records.md gives the schema of each type):
 *   {"v":1,"type":"auth"|"attest"|"release"|"deny"|"admin"|"key","time":"RFC 3339",...}
 * Records name sessions by a digest (never the cookie), keys by thumbprints, resources by
 * name and version, and never hold a secret.
 */
#ifndef CS_BROKER_AUDIT_H
#define CS_BROKER_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cs_result.h"

struct cs_log;

/* Appends rec (stolen, also on failure) after adding "v", "time" and, for a broker that
 * trusts a development root, "development": true. *index receives the log index. */
CS_RESULT cs_audit_append(struct cs_log *log, bool is_development, int64_t now, json_t *rec,
                          uint64_t *index);

/* The schema check `custos audit verify` runs on every entry: a JCS-canonical object of a
 * known type with the members its type requires. *type receives the type (borrowed from
 * the parsed record, valid while *rec lives); on CS_OK *rec is the parsed record. */
CS_RESULT cs_audit_parse(const uint8_t *entry, size_t len, json_t **rec, const char **type);

#endif
