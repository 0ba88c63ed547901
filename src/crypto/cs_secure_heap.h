/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL's secure heap: memory that is mlock()ed (kept out of swap), guarded by
 * inaccessible pages and wiped when freed. Keys held with CRYPTO_secure_malloc (the root
 * key-encryption key of the file provider) land there once it is initialised; without it
 * OpenSSL falls back to the ordinary heap. custosd calls this once at start.
 */
#ifndef CS_CRYPTO_SECURE_HEAP_H
#define CS_CRYPTO_SECURE_HEAP_H

#include <stddef.h>

#include "core/cs_result.h"

/* size: a power of two (e.g. 64 KiB). CS_E_CRYPTO when OpenSSL refuses. */
CS_RESULT cs_secure_heap_init(size_t size);

#endif
