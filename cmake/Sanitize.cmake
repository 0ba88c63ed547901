# SPDX-License-Identifier: Apache-2.0
# -DCS_SANITIZE=address,undefined builds everything with those sanitizers, aborting on the
# first report (no recovery), so a sanitizer finding fails the test that triggered it.
if(CS_SANITIZE)
  add_compile_options(-fsanitize=${CS_SANITIZE} -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${CS_SANITIZE})
endif()
