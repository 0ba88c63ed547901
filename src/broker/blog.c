/* SPDX-License-Identifier: Apache-2.0 */
#include "broker/blog.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/cs_mem.h"
#include "core/cs_time.h"

static enum cs_blog_level min_level = CS_BLOG_INFO;

void cs_blog_set_level(enum cs_blog_level level)
{
    min_level = level;
}

void cs_blog(enum cs_blog_level level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    if (level < min_level) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* only printable ASCII reaches the JSON encoder (it refuses invalid UTF-8, and a
     * message cut at 1023 bytes may end inside a character) */
    for (char *p = msg; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch > 0x7e) {
            *p = '?';
        }
    }
    char ts[CS_TIME_TEXT_LEN];
    cs_time_text(cs_time_now(), ts);
    /* jansson escapes the message, so a hostile string cannot forge a log line */
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", names[level], "event",
                          event, "msg", msg);
    if (o == NULL) {
        return;
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line != NULL) {
        fprintf(stderr, "%s\n", line);
        cs_free(line); /* json_dumps allocates with malloc, as cs_alloc does */
    }
}
