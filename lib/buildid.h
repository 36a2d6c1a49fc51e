/*
 * buildid.h - identities a module file carries, read from its bytes.
 *
 * The readers are pure functions over a byte source (struct bytesrc): they
 * do no I/O of their own, check every offset and size from the file before
 * use, and read only headers and notes. The OS backends open the file,
 * wrap it in a bytesrc and choose among the identities per --build-id.
 */
#ifndef MODMAP_BUILDID_H
#define MODMAP_BUILDID_H

#include <stddef.h>
#include <stdint.h>

#include "bytesrc.h"
#include "gotime.h"
#include "snapshot.h"

#define BUILDID_MAX 64		/* bytes of a GNU build-id note we accept */
#define GOBUILDID_MAX 256	/* bytes of a Go build ID we accept */

#define PDBFILE_MAX 1024	/* bytes of a CodeView PDB path we keep */

/* What a file's contents say about it; empty strings where absent. */
struct identity {
	char gnu[2 * BUILDID_MAX + 1];		/* ELF: lowercase hex */
	char go[GOBUILDID_MAX + 1];		/* ELF: Go build ID */
	char pdb_sig[32 + 8 + 1];		/* PE: GUID (32 hex) + age (hex) */
	char pdb_file[PDBFILE_MAX + 1];		/* PE: CodeView PDB path */
	char pe_image[8 + 16 + 1];		/* PE: TimeDateStamp %08X + SizeOfImage %x */
	const char *error;	/* static: why no identity was found, or NULL */
	/* The file claims a format (ELF, PE) but breaks it where an ID would
	 * be: it gets no ID at all, not even path+mtime (error says why). */
	int malformed;
};

/*
 * Fills id from an ELF file: its GNU build-id (PT_NOTE segments first,
 * then SHT_NOTE sections) and its Go build ID. Returns 0 when the file is
 * ELF, -1 when it is not or is malformed (id->error says which).
 */
int elf_identity(const struct bytesrc *src, struct identity *id);

/*
 * Fills id from a PE image (PE32 or PE32+): its CodeView RSDS record, found
 * through the debug directory, and its image key. Returns 0 when the file is
 * PE, -1 when it is not or is malformed (id->error says which).
 */
int pe_identity(const struct bytesrc *src, struct identity *id);

/*
 * The GUID of a PDB file (MSF 7.0), from its PDB information stream
 * (stream 1: version, signature, age, GUID), as 32 hex digits formatted as
 * the CodeView record's (pdb_sig's first 32 characters), and its age.
 * Returns 0, or -1 with *error (static text) when the file is no PDB or is
 * malformed. Reads only the superblock, the directory's first entries and
 * 28 bytes of stream 1.
 */
int pdb_identity(const struct bytesrc *src, char guid[33], uint32_t *age, const char **error);

/*
 * Fills id from whichever of the two formats the file is. Returns 0, with
 * id->error saying why nothing was found where that is the case (a file
 * that is neither ELF nor PE is no error: it falls back to path+mtime), or
 * -1 when the file is malformed (id->malformed set).
 */
int file_identity(const struct bytesrc *src, struct identity *id);

/*
 * Which identity a --build-id mode picks (SPEC "Build IDs"): the kind, and
 * through text the string from id (NULL for BIDK_PATH_MTIME, which the
 * caller formats from the file's path and mtime, and for BIDK_NONE).
 */
enum bid_kind identity_choose(enum bid_mode mode, const struct identity *id,
			      const char **text);

/*
 * Records id in m, as both backends do: under --build-id native every
 * identity found (Go build ID, PDB file and signature, image key), the
 * reason where the contents gave no ID, and the ID the mode picks. Returns that ID's kind (for
 * BIDK_PATH_MTIME the caller formats it from the file's path and mtime), or
 * -1 when memory runs out.
 */
int identity_apply(struct snapshot *s, struct mapping *m, enum bid_mode mode,
		   const struct identity *id);

/*
 * Finds the first note in a buffer of notes aligned to align (8, else 4)
 * whose name is the namesz bytes at name (its NULs included) and whose type
 * is type. Returns 1 and its descriptor through desc/desclen; 0 when there
 * is none; -1 when the notes are malformed before it (a size runs past len).
 */
int elf_find_note(const unsigned char *p, size_t len, size_t align, int bigendian,
		  const char *name, size_t namesz, uint32_t type,
		  const unsigned char **desc, size_t *desclen);

/*
 * A cache of identities keyed by (device, inode, mtime), so a file mapped
 * in five segments or by a thousand processes is read once per run.
 */
struct bid_cache;
/* The most files a cache remembers; past that it frees them all at once. */
#define BID_CACHE_MAX 2048
struct bid_cache *bid_cache_new(void);
void bid_cache_free(struct bid_cache *c);
/*
 * Go's Local zone for path+mtime IDs (gotz_load_local of the TZ in the
 * environment), loaded on first use: kept in c for the run, or, when c is
 * NULL, in *own (start it NULL; the caller frees it with gotz_free). NULL
 * only when memory ran out; err says so.
 */
const struct gotz *bid_local_zone(struct bid_cache *c, struct gotz **own, struct errmsg *err);
/* The cached identity, or NULL. */
const struct identity *bid_cache_get(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t mtime_sec, long mtime_nsec);
/*
 * Stores a copy; returns the stored one (NULL when memory runs out), valid
 * until the next put (which may free it): copy what is kept of it.
 */
const struct identity *bid_cache_put(struct bid_cache *c, uint64_t dev, uint64_t ino,
				     int64_t mtime_sec, long mtime_nsec,
				     const struct identity *id);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const unsigned char *p, size_t n);

#endif
