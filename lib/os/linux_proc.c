/*
 * os/linux_proc.c - the text of Linux's /proc files, parsed: a line of
 * /proc/PID/maps, /proc/PID/stat, the NSpid line of /proc/PID/status (see
 * os/linux.h). Pure functions over bytes: no I/O, every length checked,
 * each one a fuzz target.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdint.h>
#include <string.h>

#include "os/linux.h"
#include "snapshot.h"

/* ---- pure parsing ---------------------------------------------------- */

static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	if (s == end)
		return -1;
	for (; s < end; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (v >> 60)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (s == *p)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

int proc_parse_dec(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s == *p)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int maps_parse_line(const char *line, size_t len, struct maps_line *out)
{
	const char *p = line, *end = line + len;
	uint64_t maj, min;

	memset(out, 0, sizeof *out);
	if (parse_hex(&p, end, &out->start) || expect(&p, end, '-') ||
	    parse_hex(&p, end, &out->limit) || expect(&p, end, ' '))
		return -1;
	if (end - p < 5 || out->limit < out->start)
		return -1;
	static const char perm[] = "rwx";
	for (int i = 0; i < 3; i++) {
		if (p[i] == perm[i])
			out->prot |= 1u << i;	/* PERM_R, PERM_W, PERM_X */
		else if (p[i] != '-')
			return -1;
	}
	if (p[3] == 's')
		out->prot |= PERM_SHARED;
	else if (p[3] != 'p')
		return -1;
	p += 4;
	if (expect(&p, end, ' ') || parse_hex(&p, end, &out->offset) || expect(&p, end, ' ') ||
	    parse_hex(&p, end, &maj) || expect(&p, end, ':') || parse_hex(&p, end, &min) ||
	    expect(&p, end, ' ') || proc_parse_dec(&p, end, &out->inode))
		return -1;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -1;
	out->dev_major = (uint32_t)maj;
	out->dev_minor = (uint32_t)min;
	if (p == end)
		return 0;
	if (*p != ' ')
		return -1;
	/* The kernel pads to a column; names never start with a space
	 * (paths are absolute, other names start with '['). */
	while (p < end && *p == ' ')
		p++;
	out->name = p;
	out->name_len = (size_t)(end - p);
	return 0;
}

size_t maps_unescape(const char *name, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (len - i >= 4 && memcmp(name + i, "\\012", 4) == 0) {
			out[o++] = '\n';
			i += 4;
		} else {
			out[o++] = name[i++];
		}
	}
	return o;
}

int proc_stat_parse(const char *text, size_t len, struct proc_stat *out)
{
	const char *p = NULL, *end = text + len;
	uint64_t v;
	memset(out, 0, sizeof *out);
	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q + 1;
	/* " S ppid pgrp session tty tpgid flags ...": field 3 is the state. */
	if (!p || expect(&p, end, ' ') < 0 || p == end)
		return -1;
	out->state = *p++;
	for (int field = 4; field <= 22; field++) {
		if (expect(&p, end, ' ') < 0)
			return -1;
		if (p < end && *p == '-')	/* tty_nr, tpgid may be -1 */
			p++;
		if (proc_parse_dec(&p, end, &v) < 0)
			return -1;
		if (field == 9)
			out->flags = (unsigned long)v;
		else if (field == 22)
			out->start_time = v;
	}
	return 0;
}

int proc_stat_same_live(const struct proc_stat *before, const struct proc_stat *after)
{
	return after->start_time == before->start_time && after->state != 'Z' &&
	       after->state != 'X' && after->state != 'x';
}

/* The last PID of the "NSpid:" line of /proc/PID/status: the innermost namespace's. */
uint64_t status_ns_pid(const char *text, size_t len)
{
	static const char key[] = "\nNSpid:";	/* never the first line */
	const char *p = memmem(text, len, key, sizeof key - 1);
	if (!p)
		return 0;
	const char *end = text + len, *q = p + sizeof key - 1;
	uint64_t last = 0;
	while (q < end && *q != '\n') {
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		uint64_t v = 0;
		int digits = 0;
		while (q < end && *q >= '0' && *q <= '9' && v <= UINT64_MAX / 10 - 1)
			v = v * 10 + (uint64_t)(*q++ - '0'), digits++;
		if (!digits)
			break;
		last = v;
	}
	return last;
}


/*
 * File systems whose contents come from a server that may never answer:
 * FUSE (any fuse.* subtype, fuseblk; virtiofs speaks its protocol), and
 * the network ones, where a hard mount waits for its server forever.
 * A reader of their pages sleeps uninterruptibly (docs/security.md).
 */
static int fstype_untrusted(const char *t, size_t n)
{
	static const char *const exact[] = { "virtiofs", "9p", "nfs", "nfs4", "cifs", "smb3",
					     "smbfs", "ceph", "afs", "coda", "orangefs" };
	if (n >= 4 && memcmp(t, "fuse", 4) == 0)
		return 1;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strlen(exact[i]) == n && memcmp(t, exact[i], n) == 0)
			return 1;
	return 0;
}

size_t mountinfo_devices(const char *text, size_t len, struct mount_dev *out, size_t cap)
{
	size_t n = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos, *end = memchr(line, '\n', len - pos);
		if (!end)
			end = text + len;
		pos = (size_t)(end - text) + 1;
		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE ... */
		const char *p = line;
		uint64_t id, major, minor;
		if (proc_parse_dec(&p, end, &id) < 0 || p == end || *p++ != ' ')
			continue;
		while (p < end && *p != ' ')
			p++;
		if (p < end)
			p++;
		if (proc_parse_dec(&p, end, &major) < 0 || p == end || *p++ != ':' ||
		    proc_parse_dec(&p, end, &minor) < 0 || major > UINT32_MAX || minor > UINT32_MAX)
			continue;
		const char *dash = NULL;
		for (const char *q = p; q + 3 <= end; q++)
			if (q[0] == ' ' && q[1] == '-' && q[2] == ' ') {
				dash = q + 3;
				break;
			}
		if (!dash)
			continue;
		const char *te = memchr(dash, ' ', (size_t)(end - dash));
		if (!te)
			te = end;
		if (n < cap)
			out[n] = (struct mount_dev){ (uint32_t)major, (uint32_t)minor,
						     fstype_untrusted(dash, (size_t)(te - dash)), id };
		n++;
	}
	return n;
}

int mount_dev_untrusted(const struct mount_dev *d, size_t n, uint32_t major, uint32_t minor)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].major == major && d[i].minor == minor)
			return d[i].untrusted;
	/* A device no mount of the process lists: a mount detached since the
	 * file was mapped (a lazy unmount) can be anything. Block devices
	 * are disks; an anonymous one (major 0) is a file system's own. */
	return major == 0;
}

int mount_id_untrusted(const struct mount_dev *d, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].id == id)
			return d[i].untrusted;
	return 1;	/* not listed: detached since, anything */
}
