# SPDX-License-Identifier: Apache-2.0
# AWS Nitro Enclaves: unit tests (parser edges, verifier against a test PKI made at run
# time), every nitro case of ../shared (verdict, class, debug, claims, variants), and
# damage to the real documents (truncations, bit flips, certificates, validity edges).
cs_add_test(test_nitro unit/test_nitro.c LIBS OpenSSL::Crypto Threads::Threads)
cs_add_test(test_nitro_cases vectors/test_nitro_cases.c LIBS cs_cases)
cs_add_test(test_nitro_damage vectors/test_nitro_damage.c LIBS cs_cases OpenSSL::Crypto Threads::Threads)
