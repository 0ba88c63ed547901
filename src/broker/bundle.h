/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collateral bundles: the files of a collateral directory as one JCS object
 *   {"format":"custos-collateral/v1","kind":"dcap","files":{"<name>":"<base64>",...}}
 * archived by SHA-256 when the broker loads them, named in every attest record
 * ("collateral_sha256"), so that `custos audit reverify` can re-run a verification later
 * with exactly the collateral that was used. Only the known file names of a kind are
 * bundled or extracted (never a path).
 */
#ifndef CS_BROKER_BUNDLE_H
#define CS_BROKER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/cs_buf.h"
#include "core/cs_result.h"

#define CS_BUNDLE_MAX (4u << 20)

/* Bundles the DCAP collateral files present in dir into out (cs_buf_clear after use). */
CS_RESULT cs_bundle_dcap(const char *dir, struct cs_buf *out);

/* Writes the files of a DCAP bundle into the existing directory dir. CS_E_FORMAT for a
 * bundle of another kind or format, or with a file name that is not a DCAP one. */
CS_RESULT cs_bundle_extract_dcap(const uint8_t *bundle, size_t len, const char *dir);

/* Removes the DCAP bundle files that extraction may have written into dir (not dir). */
void cs_bundle_remove_dcap(const char *dir);

#endif
