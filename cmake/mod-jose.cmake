# SPDX-License-Identifier: Apache-2.0
# JOSE for the broker (src/crypto/cs_jose*, docs/formats-jose.md): the KBS tee-pubkey,
# flattened JWE to it (ECDH-ES+A256KW by libjose, RSA-OAEP-256 by OpenSSL, A256GCM by
# libjose), and the ES256 attestation-result tokens with their JWKS. libjose's headers
# stay private to this library: only src/crypto includes <jose/*>.
pkg_check_modules(JOSE REQUIRED IMPORTED_TARGET jose)
add_library(cs_jose STATIC src/crypto/cs_jose.c src/crypto/cs_jwe.c src/crypto/cs_jwt.c)
target_link_libraries(cs_jose PUBLIC cs_crypto PRIVATE PkgConfig::JOSE)
cs_defaults(cs_jose)
