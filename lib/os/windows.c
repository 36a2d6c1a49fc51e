/*
 * os/windows.c - the Windows backend: a process's modules from a Toolhelp32
 * snapshot, one record per module, with Windows build IDs (path+mtime the
 * way Go's runtime/pprof writes it, or the PE file's own identity).
 *
 * With os/windows_io.c, the only library file that includes <windows.h>. It does not
 * print: failures come back as a status and one line in struct errmsg.
 */
#define PSAPI_VERSION 2	/* K32GetModuleFileNameExW, in kernel32 since Windows 7 */
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <psapi.h>
#include <tlhelp32.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "buildid.h"
#include "gotime.h"
#include "htlhash.h"
#include "platform.h"
#include "region.h"
#include "snapshot.h"
#include "os/os.h"
#include "os/windows.h"

/* CreateToolhelp32Snapshot fails with ERROR_BAD_LENGTH while the module list
 * changes under it; a process that never settles (one started suspended)
 * must not hang us, so the retries are bounded. */
#define BAD_LENGTH_TRIES 20
#define BAD_LENGTH_PAUSE_MS 25

/* Toolhelp32 cuts szExePath to MAX_PATH - 1 characters without saying so. */
#define TOOLHELP_NAME_MAX (MAX_PATH - 1)
/* The longest path Windows has: 32767 UTF-16 units and the NUL. */
#define WPATH_MAX 32768

/* Go's os package (fixLongPath) adds \\?\ from this length on. */
#define GO_LONG_PATH 248

/* 100 ns intervals from 1601-01-01 (FILETIME) to 1970-01-01. */
#define FILETIME_UNIX_EPOCH 116444736000000000LL

/* A buffer reused from module to module, so records cost no allocation. */
struct scratch {
	void *p;
	size_t cap;
};

struct target {
	struct snapshot *s;
	const struct read_opts *o;
	DWORD pid;
	HANDLE proc;		/* for long names; opened on first need */
	DWORD proc_error;	/* why it could not be opened, once tried */
	struct gozone *zone;	/* Go's local zone; built on first need */
	struct scratch text;	/* a converted path, then a build ID */
	struct scratch wide;	/* a path for the file APIs */
	const wchar_t *wpath;	/* the current module's, in wide; NULL without build IDs */
	struct region_reader rr;	/* the shared part: records and build IDs */
};

/* ---- small conversions -------------------------------------------------- */

static uint64_t filetime_u64(const FILETIME *ft)
{
	return (uint64_t)ft->dwHighDateTime << 32 | ft->dwLowDateTime;
}

static int64_t floor_div64(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* At least bytes of scratch space (its old contents kept), or NULL. */
static void *scratch_get(struct scratch *sc, size_t bytes)
{
	if (bytes > sc->cap) {
		void *p = realloc(sc->p, bytes);
		if (!p)
			return NULL;
		sc->p = p;
		sc->cap = bytes;
	}
	return sc->p;
}

/* n UTF-16 units as WTF-8 in t->text; returns it (length in *len) or NULL. */
static char *to_utf8(struct target *t, const wchar_t *w, size_t n, size_t *len)
{
	*len = wtf8_from_utf16(NULL, 0, (const uint16_t *)w, n);
	char *u = scratch_get(&t->text, *len + 1);
	if (u)
		wtf8_from_utf16(u, *len + 1, (const uint16_t *)w, n);
	return u;
}

/* "\\?\C:\x" -> "C:\x", "\\?\UNC\srv\x" -> "\\srv\x", in place. */
static size_t strip_verbatim(wchar_t *w, size_t n)
{
	if (n >= 8 && wcsncmp(w, L"\\\\?\\UNC\\", 8) == 0) {
		memmove(w + 2, w + 8, (n - 8 + 1) * sizeof *w);
		return n - 6;
	}
	if (n >= 4 && wcsncmp(w, L"\\\\?\\", 4) == 0) {
		memmove(w, w + 4, (n - 4 + 1) * sizeof *w);
		return n - 4;
	}
	return n;
}

/*
 * A path file APIs accept at any length, in t->wide: an absolute path of
 * 248 characters or more gets the \\?\ prefix, as Go's os.Stat does.
 */
static wchar_t *api_path(struct target *t, const wchar_t *w, size_t n)
{
	int prefix = n >= GO_LONG_PATH && n >= 3 && w[1] == L':' && w[2] == L'\\';
	int unc = !prefix && n >= GO_LONG_PATH && n >= 2 && w[0] == L'\\' && w[1] == L'\\';
	wchar_t *p = scratch_get(&t->wide, (n + 9) * sizeof *p);
	if (!p)
		return NULL;
	if (prefix) {
		wcscpy(p, L"\\\\?\\");
		wmemcpy(p + 4, w, n + 1);
	} else if (unc) {
		wcscpy(p, L"\\\\?\\UNC");
		wmemcpy(p + 7, w + 1, n);	/* keeps one backslash and the NUL */
	} else {
		wmemcpy(p, w, n + 1);
	}
	return p;
}

/* ---- names -------------------------------------------------------------- */

/*
 * The whole path of a module whose Toolhelp32 name may be cut: asks the
 * loader data through K32GetModuleFileNameExW, growing the buffer until the
 * name fits. Returns a malloc'ed NUL-terminated path and its length, or NULL
 * with *why set.
 */
static wchar_t *long_name(struct target *t, HMODULE mod, size_t *len, DWORD *why)
{
	if (!t->proc && !t->proc_error) {
		t->proc = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, t->pid);
		if (!t->proc)
			t->proc_error = GetLastError();
	}
	if (!t->proc) {
		*why = t->proc_error;
		return NULL;
	}
	for (DWORD cap = 1024; cap <= 2 * WPATH_MAX; cap *= 2) {
		wchar_t *w = malloc(cap * sizeof *w);
		if (!w) {
			*why = ERROR_NOT_ENOUGH_MEMORY;
			return NULL;
		}
		SetLastError(0);
		DWORD n = K32GetModuleFileNameExW(t->proc, mod, w, cap);
		DWORD e = GetLastError();
		/* A name that filled the buffer may have been cut: grow. */
		if (n > 0 && n < cap - 1 && e != ERROR_INSUFFICIENT_BUFFER) {
			w[n] = L'\0';
			*len = n;
			return w;
		}
		free(w);
		if (n == 0) {
			*why = e ? e : ERROR_INVALID_DATA;
			return NULL;
		}
	}
	*why = ERROR_FILENAME_EXCED_RANGE;
	return NULL;
}

/* ---- build IDs ---------------------------------------------------------- */

/* Go's zone naming for a non-English standard name: the English name of the
 * registry zone whose (MUI) names match, as time.toEnglishName finds it. */
static int zone_english_name(const wchar_t *std, const wchar_t *dlt, wchar_t *out, DWORD cap)
{
	HKEY zones;
	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE,
			  L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Time Zones", 0,
			  KEY_ENUMERATE_SUB_KEYS | KEY_QUERY_VALUE, &zones) != ERROR_SUCCESS)
		return -1;
	int found = -1;
	for (DWORD i = 0; found < 0; i++) {
		wchar_t name[256], s[128], d[128];
		DWORD nlen = 256;
		if (RegEnumKeyExW(zones, i, name, &nlen, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
			break;
		HKEY k;
		if (RegOpenKeyExW(zones, name, 0, KEY_READ, &k) != ERROR_SUCCESS)
			continue;
		DWORD sl = sizeof s, dl = sizeof d, got;
		int ok = RegLoadMUIStringW(k, L"MUI_Std", s, sl, &got, 0, NULL) == ERROR_SUCCESS &&
			 RegLoadMUIStringW(k, L"MUI_Dlt", d, dl, &got, 0, NULL) == ERROR_SUCCESS;
		if (!ok) {
			sl = sizeof s - sizeof s[0];
			dl = sizeof d - sizeof d[0];
			memset(s, 0, sizeof s);
			memset(d, 0, sizeof d);
			ok = RegQueryValueExW(k, L"Std", NULL, NULL, (BYTE *)s, &sl) == ERROR_SUCCESS &&
			     RegQueryValueExW(k, L"Dlt", NULL, NULL, (BYTE *)d, &dl) == ERROR_SUCCESS;
		}
		RegCloseKey(k);
		if (ok && wcscmp(s, std) == 0 && (wcscmp(d, dlt) == 0 || wcscmp(dlt, std) == 0) &&
		    nlen < cap) {
			wmemcpy(out, name, nlen + 1);
			found = 0;
		}
	}
	RegCloseKey(zones);
	return found;
}

static void wide_to_field(const wchar_t *w, size_t max, char *out, size_t cap)
{
	size_t n = wcsnlen(w, max);
	wtf8_from_utf16(out, cap, (const uint16_t *)w, n);
}

static struct gozone_date zone_date(const SYSTEMTIME *st)
{
	struct gozone_date d = { st->wMonth, st->wDayOfWeek, st->wDay,
				 st->wHour, st->wMinute, st->wSecond };
	return d;
}

/* Go's Local zone on Windows (time.initLocal), built once per snapshot. */
static int zone_load(struct target *t)
{
	if (t->zone)
		return 0;
	t->zone = malloc(sizeof *t->zone);
	if (!t->zone)
		return -1;
	TIME_ZONE_INFORMATION tz;
	SYSTEMTIME now;
	GetSystemTime(&now);
	if (GetTimeZoneInformation(&tz) == TIME_ZONE_ID_INVALID) {
		struct gozone_tzi utc = { 0 };
		gozone_init(t->zone, &utc, "UTC", "UTC", now.wYear);
		return 0;
	}
	char std[GOZONE_ABBR_MAX], dst[GOZONE_ABBR_MAX], sa[GOZONE_ABBR_MAX], da[GOZONE_ABBR_MAX];
	wide_to_field(tz.StandardName, 32, std, sizeof std);
	wide_to_field(tz.DaylightName, 32, dst, sizeof dst);
	const struct gozone_abbr *a = gozone_abbr_find(std);
	if (!a) {
		wchar_t ws[33] = { 0 }, wd[33] = { 0 }, en[256];
		wmemcpy(ws, tz.StandardName, 32);
		wmemcpy(wd, tz.DaylightName, 32);
		char english[512];
		if (zone_english_name(ws, wd, en, 256) == 0) {
			wide_to_field(en, 256, english, sizeof english);
			a = gozone_abbr_find(english);
		}
	}
	if (a) {
		snprintf(sa, sizeof sa, "%s", a->std);
		snprintf(da, sizeof da, "%s", a->dst);
	} else {
		gozone_caps(std, sa, sizeof sa);
		gozone_caps(dst, da, sizeof da);
	}
	struct gozone_tzi g = { tz.Bias, tz.StandardBias, tz.DaylightBias,
				zone_date(&tz.StandardDate), zone_date(&tz.DaylightDate) };
	gozone_init(t->zone, &g, sa, da, now.wYear);
	return 0;
}

/*
 * A file's last-write time the way Go's os.Stat finds it: the attributes
 * for a plain file; FindFirstFile for one another process holds without
 * sharing (GetFileAttributesEx refuses those); otherwise, notably for a
 * symbolic link, the file opened through the link. Returns 0, or the
 * Windows error.
 */
static DWORD go_stat_mtime(const wchar_t *path, FILETIME *mtime)
{
	WIN32_FILE_ATTRIBUTE_DATA fa;
	if (GetFileAttributesExW(path, GetFileExInfoStandard, &fa)) {
		if (!(fa.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
			*mtime = fa.ftLastWriteTime;
			return 0;
		}
	} else if (GetLastError() == ERROR_SHARING_VIOLATION) {
		WIN32_FIND_DATAW fd;
		HANDLE f = FindFirstFileW(path, &fd);
		if (f == INVALID_HANDLE_VALUE)
			return GetLastError();
		FindClose(f);
		*mtime = fd.ftLastWriteTime;
		return 0;
	}
	HANDLE h = CreateFileW(path, 0, 0, NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return GetLastError();
	BY_HANDLE_FILE_INFORMATION fi;
	DWORD e = GetFileInformationByHandle(h, &fi) ? 0 : GetLastError();
	CloseHandle(h);
	if (!e)
		*mtime = fi.ftLastWriteTime;
	return e;
}

/*
 * path+mtime as Go's runtime/pprof writes it on Windows: the path, then
 * os.Stat(path).ModTime().String(); the path alone when it cannot be
 * stat'ed. The path is the module's in a form the file APIs take.
 */
static int be_stat_mtime(void *be, const struct mapping *m, const struct region_file *f,
			 int64_t *sec, long *nsec, char *why, size_t cap)
{
	struct target *t = be;
	(void)m;
	(void)f;	/* Go stats the path, not the file the loader holds */
	FILETIME ft = { 0, 0 };
	DWORD e = go_stat_mtime(t->wpath, &ft);
	if (e) {
		snprintf(why, cap, "cannot stat the file (error %lu)", (unsigned long)e);
		return -1;
	}
	int64_t ticks = (int64_t)filetime_u64(&ft) - FILETIME_UNIX_EPOCH;
	*sec = floor_div64(ticks, 10000000);
	*nsec = (long)(ticks - *sec * 10000000) * 100;
	return 0;
}

static int be_local_zone(void *be, int64_t sec, long *gmtoff, char *abbr, size_t cap)
{
	struct target *t = be;
	char zone[GOZONE_ABBR_MAX];
	if (zone_load(t) < 0)
		return -1;
	gozone_lookup(t->zone, sec, gmtoff, zone, sizeof zone);
	snprintf(abbr, cap, "%s", zone);
	return 0;
}

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	HANDLE h = ctx;
	unsigned char *p = buf;
	while (len) {
		OVERLAPPED ov = { 0 };
		ov.Offset = (DWORD)off;
		ov.OffsetHigh = (DWORD)(off >> 32);
		DWORD chunk = len > (1u << 20) ? 1u << 20 : (DWORD)len, got = 0;
		if (!ReadFile(h, p, chunk, &got, &ov) || got == 0)
			return -1;
		p += got;
		off += got;
		len -= got;
	}
	return 0;
}

/*
 * Opens the module's file for its PE identity, through a handle shared with
 * every other opener (the target keeps its DLLs open).
 */
/*
 * The module's file for reading its bytes (collect): its path opened as
 * open_file opens it, a disk file and no directory, as a C runtime fd.
 */
static int windows_open_mapped(const struct snapshot *s, const struct mapping *m, uint64_t *size,
			       const char **why)
{
	int missing;
	return platform_open_regular(snapshot_str(s, m->file), size, why, &missing);
}

static int be_open_file(void *be, const struct mapping *m, struct region_file *f,
			const char **why, int *impostor)
{
	struct target *t = be;
	(void)m;
	*impostor = 0;
	HANDLE h = CreateFileW(t->wpath, GENERIC_READ,
			       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		*why = "cannot open the file";
		return -1;
	}
	BY_HANDLE_FILE_INFORMATION fi;
	if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi) ||
	    (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
		CloseHandle(h);
		*why = "not a regular file";
		return -1;
	}
	f->dev = fi.dwVolumeSerialNumber;
	f->ino = (uint64_t)fi.nFileIndexHigh << 32 | fi.nFileIndexLow;
	f->mtime_sec = (int64_t)filetime_u64(&fi.ftLastWriteTime);	/* a key, not a time */
	f->mtime_nsec = 0;
	f->size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
	f->h = h;
	return 0;
}

static void be_read_identity(void *be, struct region_file *f, struct identity *id)
{
	(void)be;
	struct bytesrc src = { file_read, f->h, NULL, f->size };
	pe_identity(&src, id);
}

static int be_hash_file(void *be, struct region_file *f, char *out, const char **why)
{
	(void)be;
	struct bytesrc src = { file_read, f->h, NULL, f->size };
	return htlhash(&src, out, why);
}

static void be_close_file(void *be, struct region_file *f)
{
	(void)be;
	CloseHandle(f->h);
}

static int be_set_name(void *be, struct mapping *m, const struct region *r)
{
	struct target *t = be;
	m->file = snapshot_intern(t->s, r->name, r->name_len);
	return m->file == UINT32_MAX ? -1 : 0;
}

/* Only native reads a PE file: its other modes are path+mtime, as Go's. */
static const struct backend_ops windows_ops = {
	.set_name = be_set_name,
	.open_file = be_open_file,
	.read_identity = be_read_identity,
	.hash_file = be_hash_file,
	.close_file = be_close_file,
	.stat_mtime = be_stat_mtime,
	.local_zone = be_local_zone,
	.open_modes = 1u << BID_NATIVE,
};

/* ---- the snapshot ------------------------------------------------------- */

static enum read_status explain(DWORD pid, DWORD e, struct errmsg *err)
{
	unsigned long p = (unsigned long)pid;
	switch (e) {
	case ERROR_INVALID_PARAMETER:
		err_setc(err, ERR_NO_PROCESS, "pid %lu: no such process", p);
		return READ_SKIP;
	case ERROR_ACCESS_DENIED:
		err_setc(err, ERR_PERMISSION,
			 "pid %lu: permission denied (a protected or elevated process; "
			 "run modmap as administrator)", p);
		break;
	case ERROR_PARTIAL_COPY:
		/* Its loader data could not be read: from a 32-bit modmap, the
		 * process is 64-bit; from a 64-bit one, it has no user-mode
		 * loader (System, Registry) or is protected. */
		if (sizeof(void *) < 8)
			err_set(err, "pid %lu: cannot read its module list (ERROR_PARTIAL_COPY: a "
				"64-bit process read by a 32-bit modmap; use the 64-bit build)", p);
		else
			err_set(err, "pid %lu: cannot read its module list (ERROR_PARTIAL_COPY: a "
				"protected process, or one without user-mode modules)", p);
		break;
	case ERROR_NOACCESS:
		err_set(err, "pid %lu: process is not initialised yet (started suspended?); "
			"try again once it runs", p);
		break;
	case ERROR_BAD_LENGTH:
		err_set(err, "pid %lu: module list kept changing (ERROR_BAD_LENGTH %d times); "
			"a process started suspended never settles", p, BAD_LENGTH_TRIES);
		break;
	default:
		err_setc(err, err_code_win32(e), "pid %lu: CreateToolhelp32Snapshot failed (error %lu)",
			 p, (unsigned long)e);
		break;
	}
	return READ_FAILED;
}

static uint64_t now_nanos(void)
{
	FILETIME ft;
	GetSystemTimePreciseAsFileTime(&ft);
	return (filetime_u64(&ft) - (uint64_t)FILETIME_UNIX_EPOCH) * 100;
}

/* One module: its record, whole path and build ID. */
static int add_module(struct target *t, MODULEENTRY32W *me, int first)
{
	wchar_t *w = me->szExePath, *whole = NULL;
	size_t n = wcsnlen(w, MAX_PATH);
	DWORD why = 0;
	int cut = 0;	/* a name Toolhelp32 may have cut that stays so */
	if (n >= TOOLHELP_NAME_MAX) {
		whole = long_name(t, me->hModule, &n, &why);
		if (whole)
			w = whole;
		else
			n = wcsnlen(w, MAX_PATH), cut = 1;
	}
	if (w == me->szExePath && n == MAX_PATH)
		w[--n] = L'\0';
	n = strip_verbatim(w, n);

	size_t ul = 0;
	char *u = to_utf8(t, w, n, &ul);
	char note[160];
	if (cut)
		snprintf(note, sizeof note, "path cut at %d characters by Toolhelp32; "
			 "the whole one could not be read (error %lu)", TOOLHELP_NAME_MAX,
			 (unsigned long)why);
	t->wpath = NULL;
	if (u && t->o->bid != BID_NONE)
		t->wpath = api_path(t, w, n);
	int rc = -1;
	if (u && (t->o->bid == BID_NONE || t->wpath)) {
		uint64_t base = (uint64_t)(uintptr_t)me->modBaseAddr;
		struct region r = {
			.start = base,
			.limit = base + me->modBaseSize,
			.offset = 0,
			.prot = PERM_R | PERM_X,	/* an image: code and the data beside it */
			.flags = first ? MAPF_MAIN : 0,
			.name = u,
			.name_len = ul,
			.has_file = 1,
			.note = cut ? note : NULL,
		};
		rc = region_add(&t->rr, &r);
	}
	free(whole);
	return rc;
}

static enum read_status windows_read(struct snapshot *s, uint64_t pid, const struct read_opts *o,
				     struct errmsg *err)
{
	struct target t = { .s = s, .o = o, .pid = (DWORD)pid };
	t.rr.ops = &windows_ops;
	t.rr.be = &t;
	t.rr.s = s;
	t.rr.o = o;
	s->pid = pid;
	s->os = "windows";
	s->time_nanos = now_nanos();
	if (pid > UINT32_MAX) {
		err_setc(err, ERR_NO_PROCESS, "pid %llu: no such process", (unsigned long long)pid);
		return READ_FAILED;
	}

	HANDLE snap = INVALID_HANDLE_VALUE;
	DWORD e = 0;
	for (int i = 0; i < BAD_LENGTH_TRIES; i++) {
		snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, t.pid);
		if (snap != INVALID_HANDLE_VALUE)
			break;
		e = GetLastError();
		if (e != ERROR_BAD_LENGTH)
			break;
		Sleep(BAD_LENGTH_PAUSE_MS);
	}
	if (snap == INVALID_HANDLE_VALUE)
		return explain(t.pid, e, err);

	MODULEENTRY32W me;
	me.dwSize = sizeof me;
	int rc = 0;
	BOOL more = Module32FirstW(snap, &me);
	e = more ? 0 : GetLastError();
	for (int first = 1; more && rc == 0; first = 0) {
		rc = add_module(&t, &me, first);
		me.dwSize = sizeof me;
		more = Module32NextW(snap, &me);
	}
	CloseHandle(snap);
	/* Windows has no namespaces or cgroups: the process is its own. */
	s->ns_pid = pid;
	if (rc == 0 && s->exe) {
		const char *exe = snapshot_str(s, s->exe), *base = exe;
		for (const char *c = exe; *c; c++)
			if (*c == '\\' || *c == '/')
				base = c + 1;
		s->comm = snapshot_intern_str(s, base);
		if (s->comm == UINT32_MAX)
			rc = -1;
	}
	if (t.proc)
		CloseHandle(t.proc);
	free(t.zone);
	free(t.text.p);
	free(t.wide.p);
	if (rc < 0) {
		err_setc(err, ERR_NO_MEMORY, "pid %lu: out of memory", (unsigned long)t.pid);
		return READ_FAILED;
	}
	if (s->n == 0) {
		if (e && e != ERROR_NO_MORE_FILES)
			return explain(t.pid, e, err);
		err_set(err, "pid %lu: no modules (a system process?)", (unsigned long)t.pid);
		return READ_SKIP;
	}
	return READ_OK;
}

static uint64_t windows_self_pid(void)
{
	return GetCurrentProcessId();
}

static int windows_list_pids(const char *procfs, uint64_t **pids, size_t *n, struct errmsg *err)
{
	(void)procfs;	/* Windows: one process list, no procfs */
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();
		err_setc(err, err_code_win32(e), "cannot list processes (error %lu)", (unsigned long)e);
		return -1;
	}
	struct pidlist l = { 0 };
	PROCESSENTRY32W pe;
	pe.dwSize = sizeof pe;
	for (BOOL more = Process32FirstW(snap, &pe); more; more = Process32NextW(snap, &pe))
		if (pe.th32ProcessID != 0)	/* the idle process has no modules */
			pidlist_add(&l, pe.th32ProcessID);
	CloseHandle(snap);
	return pidlist_finish(&l, pids, n, err);
}

/* Windows modules are PE, so module_loads (ELF program headers) is NULL:
 * lookup gives their RVA. A procfs is Linux's. */
const struct os_backend os_backend = {
	.name = "windows",
	.read = windows_read,
	.list_pids = windows_list_pids,
	.self_pid = windows_self_pid,
	.open_mapped = windows_open_mapped,
};
