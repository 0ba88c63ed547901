# SPDX-License-Identifier: Apache-2.0
# Broker storage and keys (docs/storage.md): one library, cs_broker_store, holding
#   src/store  - the broker store interface (broker_store.h) and its SQLite backend,
#   src/crypto - the key providers (file), envelope encryption (AES-256-GCM is in cs_crypto).
# The layers stay apart in the sources (the store includes no crypto header and never sees
# plaintext); they share a library only so that the broker links one thing.
add_library(cs_broker_store STATIC src/store/broker_sqlite.c
  src/crypto/cs_keyprov_file.c src/crypto/cs_envelope.c)
target_link_libraries(cs_broker_store PUBLIC cs_crypto cs_core OpenSSL::Crypto SQLite::SQLite3
  Threads::Threads)
cs_defaults(cs_broker_store)
