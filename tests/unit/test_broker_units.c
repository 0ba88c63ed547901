/* SPDX-License-Identifier: Apache-2.0 */
/* The broker's small pieces: configuration, cookies, rate limit, metrics, audit records. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/broker.h"
#include "broker/http.h"
#include "broker/metrics.h"
#include "broker/ratelimit.h"
#include "core/cs_buf.h"
#include "cs_test.h"

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/custos-conf-XXXXXX");
    int fd = mkstemp(path);
    EXPECT_TRUE(fd >= 0);
    EXPECT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_config(void)
{
    struct cs_broker_config c;
    cs_broker_config_defaults(&c);
    char err[256] = "";
    const char *p = write_tmp("# comment\n"
                              "listen 0.0.0.0:8443   # trailing comment\n"
                              "data_dir /var/lib/custos\n"
                              "session_ttl 120\n"
                              "admin_token ops admin "
                              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                              "admin_token audit auditor "
                              "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
    EXPECT_OK(cs_broker_config_load(p, &c, err, sizeof err));
    unlink(p);
    EXPECT_STR_EQ(c.listen, "0.0.0.0:8443");
    EXPECT_EQ(c.session_ttl, 120);
    EXPECT_EQ(c.n_admin, 2u);
    EXPECT_EQ(c.admin[1].role, CS_ROLE_AUDITOR);
    EXPECT_EQ(c.admin[0].sha256[1], 0x11);
    EXPECT_OK(cs_broker_config_finish(&c));
    EXPECT_STR_EQ(c.store_path, "/var/lib/custos/broker.db");

    static const char *const bad[] = {
        "unknown_key 1\n",        "session_ttl 0\n",        "session_ttl 12x\n",
        "listen\n",               "allow_plain_http maybe\n", "admin_token a root 00\n",
        "admin_token a admin 0011\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_broker_config_defaults(&c);
        p = write_tmp(bad[i]);
        err[0] = '\0';
        EXPECT_TRUE(!cs_ok(cs_broker_config_load(p, &c, err, sizeof err)));
        EXPECT_TRUE(strstr(err, "line 1") != NULL);
        unlink(p);
    }
    /* blank and comment lines count: the error names line 4 */
    cs_broker_config_defaults(&c);
    p = write_tmp("listen 127.0.0.1:1\n\n# x\nbogus 1\n");
    EXPECT_TRUE(!cs_ok(cs_broker_config_load(p, &c, err, sizeof err)));
    EXPECT_TRUE(strstr(err, "line 4") != NULL);
    unlink(p);
}

/* The commented example in docs/examples parses (it documents every key). */
static void test_config_example(void)
{
    struct cs_broker_config c;
    cs_broker_config_defaults(&c);
    char err[256] = "";
    EXPECT_OK(cs_broker_config_load(CS_SOURCE_DIR "/docs/examples/custosd.conf", &c, err,
                                     sizeof err));
    EXPECT_STR_EQ(c.listen, "0.0.0.0:8443");
    EXPECT_EQ(c.n_admin, 2u);
    EXPECT_EQ(c.resource_burst, 100u);
}

static void test_cookie(void)
{
    char v[64];
    EXPECT_OK(cs_http_cookie("a=1; kbs-session-id=abc; b=2", "kbs-session-id", v, sizeof v));
    EXPECT_STR_EQ(v, "abc");
    EXPECT_OK(cs_http_cookie("kbs-session-id=xyz", "kbs-session-id", v, sizeof v));
    EXPECT_STR_EQ(v, "xyz");
    EXPECT_ERR(cs_http_cookie("xkbs-session-id=1", "kbs-session-id", v, sizeof v),
                CS_E_NOT_FOUND);
    EXPECT_ERR(cs_http_cookie("kbs-session-id", "kbs-session-id", v, sizeof v), CS_E_NOT_FOUND);
    EXPECT_ERR(cs_http_cookie(NULL, "kbs-session-id", v, sizeof v), CS_E_NOT_FOUND);
    char small[4];
    EXPECT_ERR(cs_http_cookie("kbs-session-id=abcdef", "kbs-session-id", small, sizeof small),
                CS_E_TOO_LARGE);
    EXPECT_TRUE(cs_http_is_loopback("127.0.0.1:80"));
    EXPECT_TRUE(cs_http_is_loopback("127.9.9.9:0"));
    EXPECT_TRUE(cs_http_is_loopback("[::1]:8080"));
    EXPECT_TRUE(!cs_http_is_loopback("0.0.0.0:80"));
    EXPECT_TRUE(!cs_http_is_loopback("10.0.0.1:80"));
    EXPECT_TRUE(!cs_http_is_loopback("localhost:80"));
}

static void test_ratelimit(void)
{
    struct cs_ratelimit *rl = NULL;
    EXPECT_OK(cs_ratelimit_new(1.0, 3, &rl));
    EXPECT_TRUE(cs_ratelimit_take(rl, "10.0.0.1", 100.0));
    EXPECT_TRUE(cs_ratelimit_take(rl, "10.0.0.1", 100.0));
    EXPECT_TRUE(cs_ratelimit_take(rl, "10.0.0.1", 100.0));
    EXPECT_TRUE(!cs_ratelimit_take(rl, "10.0.0.1", 100.0));
    EXPECT_TRUE(cs_ratelimit_take(rl, "10.0.0.2", 100.0)); /* another client has its own */
    EXPECT_TRUE(!cs_ratelimit_take(rl, "10.0.0.1", 100.5));
    EXPECT_TRUE(cs_ratelimit_take(rl, "10.0.0.1", 101.1)); /* refilled at 1/s */
    cs_ratelimit_free(rl);
}

static void test_metrics(void)
{
    struct cs_metrics *m = NULL;
    EXPECT_OK(cs_metrics_new(&m));
    cs_metrics_request(m, CS_ROUTE_ATTEST, 200, 0.003);
    cs_metrics_request(m, CS_ROUTE_ATTEST, 403, 0.0004);
    cs_metrics_verdict(m, "tdx", "UpToDate");
    cs_metrics_release(m);
    cs_metrics_denial(m, "not_admitted");
    cs_metrics_log_size(m, 42);
    struct cs_buf b;
    cs_buf_init(&b, 1u << 20);
    EXPECT_OK(cs_metrics_render(m, &b));
    EXPECT_OK(cs_buf_byte(&b, 0));
    const char *t = (const char *)b.p;
    EXPECT_TRUE(strstr(t, "custos_http_requests_total{route=\"attest\",status=\"2xx\"} 1\n"));
    EXPECT_TRUE(strstr(t, "custos_http_requests_total{route=\"attest\",status=\"4xx\"} 1\n"));
    EXPECT_TRUE(strstr(t, "route=\"attest\",le=\"0.0005\"} 1\n"));
    EXPECT_TRUE(strstr(t, "route=\"attest\",le=\"0.005\"} 2\n"));
    EXPECT_TRUE(strstr(t, "custos_verdicts_total{platform=\"tdx\",outcome=\"UpToDate\"} 1\n"));
    EXPECT_TRUE(strstr(t, "custos_denials_total{reason=\"not_admitted\"} 1\n"));
    EXPECT_TRUE(strstr(t, "custos_log_size 42\n"));
    cs_buf_clear(&b);
    cs_metrics_free(m);
}

static void test_audit_parse(void)
{
    json_t *rec = NULL;
    const char *type = NULL;
    const char *good = "{\"actor\":\"ops\",\"op\":\"policy.set\",\"target\":\"p\","
                       "\"time\":\"2026-11-21T10:00:00Z\",\"type\":\"admin\",\"v\":1}";
    EXPECT_OK(cs_audit_parse((const uint8_t *)good, strlen(good), &rec, &type));
    EXPECT_STR_EQ(type, "admin");
    json_decref(rec);
    static const char *const bad[] = {
        /* not canonical: key order */
        "{\"type\":\"admin\",\"actor\":\"ops\",\"op\":\"p\",\"target\":\"p\","
        "\"time\":\"2026-11-21T10:00:00Z\",\"v\":1}",
        /* missing member */
        "{\"actor\":\"ops\",\"op\":\"policy.set\",\"time\":\"2026-11-21T10:00:00Z\","
        "\"type\":\"admin\",\"v\":1}",
        /* unknown type */
        "{\"time\":\"2026-11-21T10:00:00Z\",\"type\":\"other\",\"v\":1}",
        /* other version */
        "{\"event\":\"startup\",\"time\":\"2026-11-21T10:00:00Z\",\"type\":\"key\",\"v\":2}",
        /* bad time */
        "{\"event\":\"startup\",\"time\":\"yesterday\",\"type\":\"key\",\"v\":1}",
        "[1]",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rec = NULL;
        EXPECT_TRUE(!cs_ok(cs_audit_parse((const uint8_t *)bad[i], strlen(bad[i]), &rec, &type)));
        EXPECT_TRUE(rec == NULL);
    }
}

CS_TEST_MAIN(CS_TEST(test_config), CS_TEST(test_config_example), CS_TEST(test_cookie), CS_TEST(test_ratelimit),
             CS_TEST(test_metrics), CS_TEST(test_audit_parse))
