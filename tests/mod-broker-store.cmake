# SPDX-License-Identifier: Apache-2.0
# Tests of broker storage and keys (docs/storage.md): the backend-agnostic store
# conformance suite (plus SQLite's own checks and the round-trip rate), and the keys and
# envelope tests.
cs_add_test(test_broker_store unit/test_broker_store.c LIBS cs_broker_store)
cs_add_test(test_envelope unit/test_envelope.c LIBS cs_broker_store)
