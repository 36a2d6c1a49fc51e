/*
 * escape.h - the one escaper for strings a target controls (paths, comm,
 * cgroup names, JIT names) wherever a person or a line-based parser reads
 * them: the text format, pprof comments, messages on stderr. One line
 * stays one line and no byte reaches a terminal as a control sequence.
 */
#ifndef MODMAP_ESCAPE_H
#define MODMAP_ESCAPE_H

#include <stddef.h>

#include "buf.h"

/*
 * Appends str (len bytes) with C-style escapes for what a terminal would
 * act on or what would break a line: C0 and C1 control characters
 * (U+0080..U+009F too: some terminals take them as escape sequences), DEL,
 * U+2028/U+2029, bytes that are not UTF-8 (a terminal in a legacy code page
 * reads 0x9b as CSI), and, unless windows (its names keep their path
 * separator), '\'. Other characters pass as UTF-8.
 */
void escape_put(struct buf *b, const char *str, size_t len, int windows);

#endif
