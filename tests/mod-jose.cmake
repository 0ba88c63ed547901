# SPDX-License-Identifier: Apache-2.0
# JOSE: unit tests (test_jose), and the interop test against python3-jwcrypto (jose_interop:
# tests/jose/interop.py drives tests/jose/jose_tool.c; SKIP when jwcrypto is missing).
if(NOT TARGET cs_jose)
  return()
endif()
cs_add_test(test_jose unit/test_jose.c LIBS cs_jose PkgConfig::JOSE OpenSSL::Crypto
  Threads::Threads)

add_executable(jose_tool jose/jose_tool.c)
target_link_libraries(jose_tool PRIVATE cs_jose)
cs_defaults(jose_tool)
add_test(NAME jose_interop
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/jose/interop.py $<TARGET_FILE:jose_tool>)
set_tests_properties(jose_interop PROPERTIES SKIP_RETURN_CODE 77)
