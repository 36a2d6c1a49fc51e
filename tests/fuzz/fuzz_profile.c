/*
 * libFuzzer target: the pprof profile reader and rewriter of attach.c, on
 * gzip or raw input, and the CBOR snapshot reader. Whatever attach_profile
 * accepts, it must turn into a profile it accepts again, with the mapping
 * table it was given.
 */
#include <stdint.h>
#include <stdlib.h>

#include "attach.h"
#include "modmap.h"

static const struct attach_mapping snap[] = {
	{ 0x400000, 0x4af000, 0, "/bin/prog", "", 9, 0 },
	{ 0x7f0000001000, 0x7f0000002000, 0x1000, "/lib/libc.so.6", "abcd", 14, 4 },
	{ 0x7f0000003000, 0x7f0000004000, 0, "/bin/prog", "", 9, 0 },
};

static void check(const unsigned char *p, size_t len, const struct attach_mapping *m, size_t n)
{
	struct buf out = { 0 }, again = { 0 };
	struct attach_stats st, st2;
	struct errmsg err;
	struct attach_mapping *t = NULL;
	size_t nt;
	if (attach_profile(p, len, m, n, &out, &st, &err) == 0) {
		if (st.mapped + st.kept_locations > st.locations)
			abort();
		if (attach_table_from_profile(out.p, out.len, &t, &nt, &err) < 0 ||
		    nt != n + st.kept)
			abort();
		if (attach_profile(out.p, out.len, m, n, &again, &st2, &err) < 0 ||
		    st2.locations != st.locations || st2.mapped != st.mapped)
			abort();
	}
	free(t);
	buf_free(&out);
	buf_free(&again);
}

static void check_cbor(const unsigned char *p, size_t len)
{
	struct snapshot s;
	struct attach_mapping *t = NULL;
	size_t n;
	struct errmsg err;
	snapshot_init(&s);
	if (attach_read_cbor(p, len, &s, &err) == 0 &&
	    (attach_table_from_snapshot(&s, &t, &n, &err) < 0 || n != s.n))
		abort();
	free(t);
	snapshot_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf scratch = { 0 };
	const unsigned char *p;
	size_t len;
	struct errmsg err;
	if (attach_unpack(data, size, 1 << 20, &scratch, &p, &len, &err) == 0) {
		struct attach_mapping *own = NULL;
		size_t n;
		if (attach_is_cbor(p, len))
			check_cbor(p, len);
		check(p, len, snap, sizeof snap / sizeof snap[0]);
		if (attach_table_from_profile(p, len, &own, &n, &err) == 0)
			check(p, len, own, n);
		free(own);
	}
	buf_free(&scratch);
	return 0;
}
