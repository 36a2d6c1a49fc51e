/* libFuzzer target: the PE reader (pe_identity: headers, section table,
 * debug directory, CodeView record), in memory and through a callback. */
#define _POSIX_C_SOURCE 200809L	/* strnlen */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"

static int read_cb(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct bytesrc *mem = ctx;
	if (off > mem->size || len > mem->size - off)
		abort();	/* the reader must bound every read itself */
	memcpy(buf, mem->mem + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct identity a, b;
	struct bytesrc mem = bytesrc_mem(data, size);
	struct bytesrc cb = { read_cb, &mem, NULL, size };
	int ra = pe_identity(&mem, &a);
	int rb = pe_identity(&cb, &b);
	if (ra != rb || strcmp(a.pdb_sig, b.pdb_sig) != 0 || strcmp(a.pdb_file, b.pdb_file) != 0 ||
	    strcmp(a.pe_image, b.pe_image) != 0)
		abort();
	if (strnlen(a.pdb_sig, sizeof a.pdb_sig) == sizeof a.pdb_sig ||
	    strnlen(a.pdb_file, sizeof a.pdb_file) == sizeof a.pdb_file ||
	    strnlen(a.pe_image, sizeof a.pe_image) == sizeof a.pe_image)
		abort();
	/* A PDB signature is a GUID and an age, or NB10's signature and age. */
	size_t n = strlen(a.pdb_sig);
	if (n && (n < 9 || n > 40))
		abort();
	if (a.malformed && (a.pdb_sig[0] || !a.error))
		abort();
	const char *text;
	enum bid_kind k = identity_choose(BID_NATIVE, &a, &text);
	if (k == BIDK_PDB && strcmp(text, a.pdb_sig) != 0)
		abort();
	/* Through the first-page cache, in memory and from a "file". */
	ra = file_identity(&mem, &a);
	rb = file_identity(&cb, &b);
	if (ra != rb || strcmp(a.pdb_sig, b.pdb_sig) != 0 || strcmp(a.pe_image, b.pe_image) != 0)
		abort();
	return 0;
}
