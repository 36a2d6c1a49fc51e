/*
 * manymaps N FILE - a process with N mappings: N pages of FILE mapped one
 * after another at one address range, alternately readable+executable and
 * read-only, so that no two neighbours merge into one VMA. Half are
 * executable and named (what --mappings exec keeps), all are file-backed.
 * Prints "ready" and waits for standard input to close.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: manymaps N FILE\n");
		return 2;
	}
	long n = atol(argv[1]);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || n <= 0) {
		perror(argv[2]);
		return 1;
	}
	char *base = mmap(NULL, (size_t)n * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int prot = i % 2 ? PROT_READ : PROT_READ | PROT_EXEC;
		if (mmap(base + (size_t)i * page, page, prot, MAP_PRIVATE | MAP_FIXED, fd, 0) ==
		    MAP_FAILED) {
			fprintf(stderr, "manymaps: mapping %ld: ", i);
			perror("mmap");
			return 1;
		}
	}
	close(fd);
	printf("ready\n");
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
