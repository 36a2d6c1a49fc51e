/*
 * cgroup.c - a process's cgroup and the container it names (cgroup.h).
 * No I/O: the backend reads /proc/PID/cgroup and hands the text in.
 */
#include <string.h>

#include "cgroup.h"

int cgroup_path(const char *text, size_t len, const char **path, size_t *plen)
{
	const char *first = NULL, *systemd = NULL;
	size_t first_len = 0, systemd_len = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + 1;
		/* hierarchy-ID:controller-list:path; the path may hold ':'. */
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;
		if (!c2)
			continue;
		const char *p = c2 + 1;
		size_t pl = ll - (size_t)(p - line);
		if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
			*path = p;	/* the unified hierarchy */
			*plen = pl;
			return 0;
		}
		size_t cl = (size_t)(c2 - c1 - 1);
		if (!systemd && cl == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0)
			systemd = p, systemd_len = pl;
		if (!first)
			first = p, first_len = pl;
	}
	if (systemd)
		first = systemd, first_len = systemd_len;
	if (!first)
		return -1;
	*path = first;
	*plen = first_len;
	return 0;
}

static int is_id(const char *p, size_t len)
{
	if (len != CONTAINER_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

/* The ID a single path component names, or NULL. */
static const char *component_id(const char *c, size_t len)
{
	/* Runtimes' systemd scopes: PREFIX-ID.scope. (CRI-O's monitor sits in
	 * crio-conmon-ID.scope, which "conmon-ID" being no ID leaves out.) */
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };
	static const char scope[] = ".scope";
	size_t sl = sizeof scope - 1;
	if (len > sl && memcmp(c + len - sl, scope, sl) == 0) {
		len -= sl;
		for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
			size_t pl = strlen(prefixes[i]);
			if (len > pl && memcmp(c, prefixes[i], pl) == 0 && is_id(c + pl, len - pl))
				return c + pl;
		}
		return NULL;
	}
	/* cgroupfs drivers: the bare ID (/docker/ID, /kubepods/.../ID). */
	return is_id(c, len) ? c : NULL;
}

/*
 * The outermost component wins: a process may create cgroups below its own
 * (a delegated subtree) and name them as it likes, never above, so only
 * the ID nearest the root was chosen by whoever placed it there.
 */
int cgroup_container_id(const char *path, size_t len, char out[CONTAINER_ID_LEN + 1])
{
	out[0] = '\0';
	for (size_t start = 0; start < len;) {
		while (start < len && path[start] == '/')
			start++;
		size_t end = start;
		while (end < len && path[end] != '/')
			end++;
		const char *id = component_id(path + start, end - start);
		if (id) {
			memcpy(out, id, CONTAINER_ID_LEN);
			out[CONTAINER_ID_LEN] = '\0';
			return 0;
		}
		start = end;
	}
	return -1;
}
