/* libFuzzer: /proc/PID/cgroup and /proc/PID/status text, as a hostile
 * process (or a hostile procfs under --procfs) could shape it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cgroup.h"
#include "os/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *path;
	size_t plen;
	char id[CONTAINER_ID_LEN + 1];
	if (cgroup_path(text, size, &path, &plen) == 0) {
		if (path < text || path + plen > text + size)
			__builtin_trap();
		if (cgroup_container_id(path, plen, id) == 0 && strlen(id) != CONTAINER_ID_LEN)
			__builtin_trap();
	}
	cgroup_container_id(text, size, id);
	status_ns_pid(text, size);
	return 0;
}
