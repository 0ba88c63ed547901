/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logs of the broker: one JSON object per line on stderr,
 * {"ts":"RFC 3339","level":"info","event":"...","msg":"..."}. Never pass a secret here:
 * not a token, a session id, a nonce before use, a key or a resource value.
 */
#ifndef CS_BROKER_BLOG_H
#define CS_BROKER_BLOG_H

enum cs_blog_level { CS_BLOG_DEBUG, CS_BLOG_INFO, CS_BLOG_WARN, CS_BLOG_ERROR };

/* Lines below level are dropped (default INFO). */
void cs_blog_set_level(enum cs_blog_level level);

void cs_blog(enum cs_blog_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
