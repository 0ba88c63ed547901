# SPDX-License-Identifier: Apache-2.0
# The broker's parsers of untrusted bytes that are its own: audit records (read by auditors
# from an untrusted broker) and the Cookie header. Request bodies go through jansson and the
# TEE-key (fuzz_tee_jwk) and policy (fuzz_policy) targets.
if(TARGET cs_broker)
  list(APPEND CS_FUZZ_TARGETS audit_record)
  set(CS_FUZZ_LIBS_audit_record cs_broker)
  list(APPEND CS_FUZZ_INSTRUMENT cs_broker)
endif()
