# SPDX-License-Identifier: Apache-2.0
# cs_defaults(target [STRICT]): warnings, hardening, -Werror when CS_WERROR is on.
# STRICT adds -Wconversion (core and evidence: the code that does arithmetic on input).
set(CS_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes
  -Wmissing-prototypes -Wcast-qual -Wvla -Wimplicit-fallthrough -Wwrite-strings -Wundef
  -Wno-overlength-strings)
set(CS_HARDENING -fstack-protector-strong -fstack-clash-protection -fcf-protection
  -fvisibility=hidden)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND CMAKE_C_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  list(APPEND CS_HARDENING -ftrivial-auto-var-init=zero)
endif()
if(CMAKE_C_COMPILER_ID STREQUAL "Clang" AND CMAKE_C_COMPILER_VERSION VERSION_GREATER_EQUAL 16)
  list(APPEND CS_HARDENING -ftrivial-auto-var-init=zero)
endif()

function(cs_defaults tgt)
  cmake_parse_arguments(CS "STRICT" "" "" ${ARGN})
  target_compile_options(${tgt} PRIVATE ${CS_WARNINGS} ${CS_HARDENING})
  if(CS_STRICT)
    target_compile_options(${tgt} PRIVATE -Wconversion -Wsign-conversion)
  endif()
  if(CS_WERROR)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
  if(NOT CS_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    target_compile_definitions(${tgt} PRIVATE _FORTIFY_SOURCE=2)
  endif()
  target_link_options(${tgt} PRIVATE -Wl,-z,relro,-z,now,-z,noexecstack)
endfunction()
