/*
 * floor_maps PID [nofiles] - the floor for modmap's maps source: read all
 * of /proc/PID/maps, then (unless "nofiles") open each executable file it
 * names and read its first 4 KiB once (a file whose segments follow each
 * other is read once), and print nothing. What it costs to get the text
 * and touch each file's ELF header.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: floor_maps PID [nofiles]\n");
		return 2;
	}
	int files = !(argc > 2 && strcmp(argv[2], "nofiles") == 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/maps", argv[1]);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	for (;;) {
		if (cap - len < 4096)
			text = realloc(text, cap *= 2);
		ssize_t r = read(fd, text + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!files)
		return len ? 0 : 1;
	static char page[4096];
	const char *last = "";
	size_t last_len = 0;
	for (char *line = text, *end = text + len; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		char *sp = memchr(line, ' ', (size_t)(nl - line));
		char *slash = memchr(line, '/', (size_t)(nl - line));
		/* "start-limit perms ...": perms[2] is 'x' for executable */
		if (sp && nl - sp > 4 && sp[3] == 'x' && slash &&
		    !((size_t)(nl - slash) == last_len && memcmp(slash, last, last_len) == 0)) {
			*nl = '\0';
			int f = open(slash, O_RDONLY | O_CLOEXEC);
			if (f >= 0) {
				if (pread(f, page, sizeof page, 0) < 0)
					perror(slash);
				close(f);
			}
			last = slash;
			last_len = (size_t)(nl - slash);
		}
		line = nl + 1;
	}
	return 0;
}
