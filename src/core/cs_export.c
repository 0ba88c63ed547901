/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Anchor translation unit of the shared library: libcustos is the union of the layer
 * archives; include/custos/exports.map decides which symbols leave it (custos_* only).
 */
#include "custos/result.h"

const char *custos_version(void)
{
    return "0.1.0";
}
