# SPDX-License-Identifier: Apache-2.0
# broker: the service (KBS routes, admin API, audit records, tokens, metrics) and custosd.
# libmicrohttpd is used by src/broker/http.c only.
# net: the HTTP client (libcurl only here), for `custos admin`, `custos audit` and agents
find_package(CURL REQUIRED)
add_library(cs_net STATIC src/net/http_client.c)
target_link_libraries(cs_net PUBLIC cs_core CURL::libcurl Threads::Threads)
cs_defaults(cs_net)
list(APPEND CS_CLI_SOURCES app/custos/cmd_admin.c)
list(APPEND CS_CLI_LIBS cs_net)

if(TARGET cs_policy AND TARGET cs_jose AND TARGET cs_broker_store AND TARGET cs_sim)
  pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
  add_library(cs_broker STATIC
    src/broker/http.c src/broker/blog.c src/broker/metrics.c src/broker/ratelimit.c
    src/broker/config.c src/broker/audit.c src/broker/secrets.c src/broker/evidence.c
    src/broker/token.c src/broker/bundle.c src/broker/scache.c src/broker/kbs.c src/broker/admin.c src/broker/state.c src/broker/logapi.c
    src/broker/broker.c)
  target_link_libraries(cs_broker PUBLIC cs_policy cs_jose cs_broker_store cs_tlog cs_verify
    PkgConfig::MHD Threads::Threads)
  cs_defaults(cs_broker)
  if("snp" IN_LIST CS_PLATFORMS)
    target_compile_definitions(cs_broker PRIVATE CS_HAVE_SNP)
  endif()

  list(APPEND CS_CLI_SOURCES app/custos/cmd_audit.c app/custos/cmd_fetch.c)
  list(APPEND CS_CLI_LIBS cs_broker)

  add_executable(custosd app/custosd/main.c)
  target_link_libraries(custosd PRIVATE cs_broker cs_sim)
  cs_defaults(custosd)
endif()
