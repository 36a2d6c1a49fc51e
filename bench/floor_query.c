/*
 * floor_query PID [all] [nobid] - the floor for modmap's query source: the
 * bare PROCMAP_QUERY loop that asks the kernel for the records modmap
 * asks for (executable mappings unless "all"; with GNU build IDs unless
 * "nobid") and prints nothing. What the kernel charges for the records,
 * plus the process start that every command pays.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct procmap_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	uint64_t vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define COVERING_OR_NEXT 0x10
#define VMA_EXECUTABLE 0x04

int main(int argc, char **argv)
{
	int all = 0, nobid = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: floor_query PID [all] [nobid]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		all |= strcmp(argv[i], "all") == 0;
		nobid |= strcmp(argv[i], "nobid") == 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/maps", argv[1]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	size_t cap = 4096;
	char *name = calloc(1, cap);
	unsigned char bid[64] = { 0 };
	uint64_t addr = 0, n = 0;
	for (;;) {
		struct procmap_query q = {
			.size = sizeof q,
			.query_flags = COVERING_OR_NEXT | (all ? 0 : VMA_EXECUTABLE),
			.query_addr = addr,
			.vma_name_size = (uint32_t)cap,
			.vma_name_addr = (uintptr_t)name,
		};
		if (!nobid) {
			q.build_id_size = sizeof bid;
			q.build_id_addr = (uintptr_t)bid;
		}
		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			if (errno == ENAMETOOLONG) {
				cap *= 4;
				name = realloc(name, cap);
				continue;
			}
			if (errno == ENOENT)
				break;
			perror("PROCMAP_QUERY");
			return 1;
		}
		n++;
		addr = q.vma_end;
	}
	return n ? 0 : 1;
}
