/* SPDX-License-Identifier: MIT */
/* log.c: one line per event on stderr, control characters escaped */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define LOG_LINE_MAX 1024

static log_sink_fn sink;
static void *sink_arg;

void
log_set_sink(log_sink_fn fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

/*
 * The length of the well-formed UTF-8 sequence (RFC 3629, shortest form)
 * that starts s, with its code point in *cp; 0 when there is none. s ends
 * at a NUL, which is never a continuation byte, so no read runs past it.
 */
static size_t
utf8_seq(const unsigned char *s, unsigned long *cp)
{
	unsigned long min;
	size_t n, k;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, *cp = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, *cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, *cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[k] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Code points a terminal or a log viewer acts on rather than shows: the
 * C1 controls (U+009B is a terminal's CSI), the bidi marks, embeddings,
 * overrides and isolates (which reorder what follows on the line), and
 * the Unicode line and paragraph separators.
 */
static int
unsafe_code_point(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Writes "chatkit-session: <message>\n" to stderr in one write, so that
 * nothing a client sent can forge a log line or act on a terminal: bytes
 * below 0x20, DEL and bytes that are not well-formed UTF-8 are shown as
 * \xNN, the code points above as \uNNNN. The message is cut at
 * LOG_LINE_MAX bytes.
 */
void
log_warnx(const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], out[LOG_LINE_MAX * 4 + 32];
	const unsigned char *s = (const unsigned char *)raw;
	unsigned long cp;
	size_t i, o, n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);

	/* Worst case 4 bytes out per byte in: \xNN, or \u009b for 2. */
	o = (size_t)snprintf(out, sizeof(out), "chatkit-session: ");
	for (i = 0; s[i] != '\0' && o + 8 < sizeof(out); i += n) {
		n = 1;
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			out[o++] = (char)s[i];
		} else if (s[i] < 0x80 || (n = utf8_seq(s + i, &cp)) == 0) {
			n = 1;
			o += (size_t)snprintf(
			    out + o, sizeof(out) - o, "\\x%02x", s[i]);
		} else if (unsafe_code_point(cp)) {
			o += (size_t)snprintf(
			    out + o, sizeof(out) - o, "\\u%04lx", cp);
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	out[o++] = '\n';
	if (sink != NULL) {
		sink(out, o, sink_arg);
		return;
	}
	fwrite(out, 1, o, stderr);
	fflush(stderr);
}
