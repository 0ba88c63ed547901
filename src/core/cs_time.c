/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 timestamps. Civil-date arithmetic after H. Hinnant's days_from_civil
 * (public-domain algorithm), so no dependence on the process time zone or timegm.
 */
#include "core/cs_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

int64_t cs_time_from_civil(int64_t y, unsigned mon, unsigned d, unsigned h, unsigned mi,
                           unsigned s)
{
    y -= mon <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (mon + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

CS_RESULT cs_time_parse(const char *s, size_t len, int64_t *out)
{
    CS_ENSURE(s != NULL && out != NULL, CS_E_ARG);
    CS_ENSURE(len >= 20 && len <= 64, CS_E_FORMAT);
    unsigned y, mo, d, h, mi, sec;
    CS_ENSURE(digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &mo) && s[7] == '-' &&
                  digits(s + 8, 2, &d),
              CS_E_FORMAT);
    CS_ENSURE(s[10] == 'T' || s[10] == 't' || s[10] == ' ', CS_E_FORMAT);
    CS_ENSURE(digits(s + 11, 2, &h) && s[13] == ':' && digits(s + 14, 2, &mi) && s[16] == ':' &&
                  digits(s + 17, 2, &sec),
              CS_E_FORMAT);
    CS_ENSURE(y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo), CS_E_FORMAT);
    CS_ENSURE(h <= 23 && mi <= 59 && sec <= 60, CS_E_FORMAT);
    if (sec == 60) {
        sec = 59; /* a leap second is read as the last second of its minute */
    }
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        CS_ENSURE(i > start, CS_E_FORMAT);
    }
    CS_ENSURE(i < len, CS_E_FORMAT);
    int64_t offset = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else {
        CS_ENSURE(s[i] == '+' || s[i] == '-', CS_E_FORMAT);
        CS_ENSURE(len - i == 6, CS_E_FORMAT);
        unsigned oh, om;
        CS_ENSURE(digits(s + i + 1, 2, &oh) && s[i + 3] == ':' && digits(s + i + 4, 2, &om),
                  CS_E_FORMAT);
        CS_ENSURE(oh <= 23 && om <= 59, CS_E_FORMAT);
        offset = (int64_t)oh * 3600 + (int64_t)om * 60;
        if (s[i] == '+') {
            offset = -offset;
        }
        i += 6;
    }
    CS_ENSURE(i == len, CS_E_FORMAT);
    *out = cs_time_from_civil(y, mo, d, h, mi, sec) + offset;
    return CS_SUCCESS;
}

CS_RESULT cs_time_format(int64_t t, char out[CS_TIME_TEXT_LEN])
{
    CS_ENSURE(out != NULL, CS_E_ARG);
    /* civil_from_days, the inverse of the above */
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    CS_ENSURE(y >= 0 && y <= 9999, CS_E_ARG);
    int n = snprintf(out, CS_TIME_TEXT_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    CS_ENSURE(n == CS_TIME_TEXT_LEN - 1, CS_E_INTERNAL);
    return CS_SUCCESS;
}

void cs_time_text(int64_t t, char out[CS_TIME_TEXT_LEN])
{
    if (!cs_ok(cs_time_format(t, out))) {
        out[0] = '?';
        out[1] = '\0';
    }
}

int64_t cs_time_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec;
}
