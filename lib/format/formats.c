/*
 * format/formats.c - the registry of output formats: what the command and the
 * public interface choose among, each with the facts a caller must know
 * before writing (binary? several processes?) and its writer.
 */
#include <string.h>

#include "format/emit.h"

static int write_text(struct buf *b, const struct snapshot *s, size_t n, int as_array,
		      struct errmsg *err)
{
	(void)as_array;
	return emit_text(b, s, n, err);
}

static int write_pprof(struct buf *b, const struct snapshot *s, size_t n, int as_array,
		       struct errmsg *err)
{
	(void)as_array;
	return emit_pprof(b, s, n, err);
}

static int always(void)
{
	return 1;
}

/* In the order of the public MODMAP_FORMAT_* constants. */
const struct format formats[] = {
	{ "text", 0, 1, 1, write_text, always },
	{ "json", 0, 1, 0, emit_json, always },
	{ "cbor", 1, 1, 0, emit_cbor, emit_cbor_supported },
	{ "pprof", 1, 0, 0, write_pprof, always },
	{ "jsonl", 0, 1, 1, emit_jsonl, always },
	{ NULL, 0, 0, 0, NULL, NULL },
};

const struct format *format_find(const char *name)
{
	for (const struct format *f = formats; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}
