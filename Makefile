# modmap - see README.md for how the pieces fit.
CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD := build
# Debian's python3, which has python3-pytest and python3-cbor2 (a pyenv
# python earlier on PATH would not).
PYTHON ?= /usr/bin/python3

CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_FILE_OFFSET_BITS=64
ZLIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags zlib)
ZLIB_LIBS := $(shell $(PKG_CONFIG) --libs zlib || echo -lz)
CPPFLAGS += $(ZLIB_CFLAGS)
LDLIBS += $(ZLIB_LIBS)

# CBOR: auto (default) builds with libcbor when pkg-config finds it; yes
# insists on it; no builds without (then --format cbor says so, exit 2).
CBOR ?= auto
ifneq ($(CBOR),no)
ifeq ($(shell $(PKG_CONFIG) --exists libcbor && echo found),found)
CPPFLAGS += -DHAVE_CBOR $(shell $(PKG_CONFIG) --cflags libcbor)
LDLIBS += $(shell $(PKG_CONFIG) --libs libcbor)
else ifeq ($(CBOR),yes)
$(error CBOR=yes, but pkg-config finds no libcbor (Debian: libcbor-dev))
endif
endif

# Symbolization (SPEC "Symbolize"): auto (default) builds with elfutils'
# libdw when pkg-config finds it; 1 insists on it; 0 builds without (then
# --symbolize says "symbolization not built"). Names are demangled with
# libstdc++'s __cxa_demangle.
SYMBOLIZE ?= auto
ifneq ($(SYMBOLIZE),0)
ifeq ($(shell $(PKG_CONFIG) --exists libdw && echo found),found)
CPPFLAGS += -DHAVE_ELFUTILS $(shell $(PKG_CONFIG) --cflags libdw)
# libstdc++ is referenced weakly (a static consumer may go without it):
# --no-as-needed keeps it, or the linker would drop it as unused.
STDCXX_LIBS := -Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state
LDLIBS += $(shell $(PKG_CONFIG) --libs libdw) $(STDCXX_LIBS)
else ifeq ($(SYMBOLIZE),1)
$(error SYMBOLIZE=1, but pkg-config finds no libdw (Debian: libdw-dev))
endif
endif

# SHA-256 for --build-id htlhash: Nettle, as CBOR: auto (default) builds
# with it when pkg-config finds it; yes insists; no builds without (then
# htlhash gives no IDs, with the reason).
NETTLE ?= auto
ifneq ($(NETTLE),no)
ifeq ($(shell $(PKG_CONFIG) --exists nettle && echo found),found)
CPPFLAGS += -DHAVE_NETTLE $(shell $(PKG_CONFIG) --cflags nettle)
LDLIBS += $(shell $(PKG_CONFIG) --libs nettle)
else ifeq ($(NETTLE),yes)
$(error NETTLE=yes, but pkg-config finds no nettle (Debian: nettle-dev))
endif
endif

# The layout: include/ the public header, lib/ the library, cli/ the
# command. lib/os/ holds each OS's files (the only ones that include OS
# headers), lib/format/ the snapshot writers and readers, lib/wire/ the
# protobuf and gzip codecs, lib/attach/ the profile rewrite.
# docs/library.md says what is exported.

# The version: set here, and only here. The Makefile writes it into
# modmap.pc; the files that must carry it literally (the public header's
# MODMAP_VERSION_STRING, which --version prints, both man pages' footers and
# debian/changelog) are checked against it by `make version-check`, which
# the build, install and deb run first (tests/e2e/test_version.py checks the
# built and installed results).
VERSION := 0.3.0
SOVERSION := 0
# OS picks the files of lib/os/ the library is built with: one line per OS.
OS ?= linux
OS_POSIX_IO := lib/os/posix_io.c lib/os/posix_open.c lib/os/posix_store.c
OS_SRCS_linux := lib/os/linux.c lib/os/linux_query.c lib/os/linux_files.c lib/os/linux_mounts.c \
  lib/os/linux_jit.c lib/os/linux_proc.c $(OS_POSIX_IO)
OS_SRCS_windows := lib/os/windows.c lib/os/windows_io.c lib/os/windows_store.c
# No process reading at all (every call ERR_UNSUPPORTED); files through the POSIX io.
OS_SRCS_none := lib/os/none.c $(OS_POSIX_IO)
LIB_COMMON := $(sort $(wildcard lib/*.c lib/format/*.c lib/wire/*.c lib/attach/*.c))
LIB_SRCS := $(LIB_COMMON) $(OS_SRCS_$(OS))
LIB_HDRS := $(wildcard include/*.h lib/*.h lib/*/*.h)
CLI_SRCS := $(sort $(wildcard cli/*.c))
INCLUDES := -Iinclude -Ilib
# cli/ sees the public header only: the command is the API's first user.
CLI_INCLUDES := -Iinclude
OBJ := $(BUILD)/obj
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(OBJ)/%.o)
STATIC_LIB := $(BUILD)/libmodmap.a
SHARED_LIB := $(BUILD)/libmodmap.so.$(SOVERSION)
# The library's objects serve the static and the shared library both;
# only what include/modmap.h marks MODMAP_API is exported.
LIB_CFLAGS := -fPIC -fvisibility=hidden

all: version-check $(BUILD)/modmap $(STATIC_LIB) $(SHARED_LIB)

# Each file that carries the version literally, and what it says.
VERSION_SAYS = \
	include/modmap.h:$(shell sed -n 's/^\#define MODMAP_VERSION_STRING "\(.*\)"/\1/p' include/modmap.h) \
	docs/modmap.1:$(shell sed -n '1s/^\.TH .* "modmap \([^"]*\)".*/\1/p' docs/modmap.1) \
	docs/libmodmap.3:$(shell sed -n '1s/^\.TH .* "modmap \([^"]*\)".*/\1/p' docs/libmodmap.3) \
	debian/changelog:$(shell sed -n '1s/^modmap (\([^)-]*\).*/\1/p' debian/changelog 2>/dev/null)
version-check:
	@bad=0; for f in $(VERSION_SAYS); do [ "$${f#*:}" = '$(VERSION)' ] && continue; \
	  echo "$${f%%:*} says version '$${f#*:}', the Makefile's VERSION is $(VERSION)" >&2; bad=1; done; \
	  exit $$bad

# Objects record the flags they were built with: a change of CC, CFLAGS or
# CPPFLAGS rewrites this file, and every object depending on it rebuilds.
FLAGS_NOW := $(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS)
$(BUILD)/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

$(OBJ)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(if $(filter cli/%,$<),$(CLI_INCLUDES),$(INCLUDES)) $(CFLAGS) \
	  $(if $(filter lib/%,$<),$(LIB_CFLAGS)) \
	  -MMD -MP -c -o $@ $<

# libmodmap.a defines no global name outside modmap_ (SPEC): its objects
# are linked into one relocatable object whose hidden symbols (everything
# but MODMAP_API) become local, so a static consumer's own err_set or
# formats cannot collide with the library's.
OBJCOPY ?= objcopy
$(STATIC_LIB): $(LIB_OBJS) Makefile
	rm -f $@ $(BUILD)/libmodmap-r.o
	$(LD) -r -o $(BUILD)/libmodmap-r.o $(LIB_OBJS)
	$(OBJCOPY) --localize-hidden $(BUILD)/libmodmap-r.o $(BUILD)/libmodmap.o
	rm -f $(BUILD)/libmodmap-r.o
	$(AR) rcs $@ $(BUILD)/libmodmap.o

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libmodmap.so.$(SOVERSION) -Wl,--no-undefined $(LDFLAGS) \
	  -o $@ $(LIB_OBJS) $(LDLIBS)
	ln -sf libmodmap.so.$(SOVERSION) $(BUILD)/libmodmap.so

# The command links the library statically, like any consumer of
# libmodmap.a: one file to copy anywhere.
$(BUILD)/modmap: $(CLI_OBJS) $(STATIC_LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

# ---- ABI (docs/library.md, "The ABI") -------------------------------------
# abi-check: the built library against the committed baseline, public
# types only; additions (new functions, fields appended to the structs that
# travel with their size: abi/libmodmap.abignore) pass, anything else that
# keeps the soname fails. abi-baseline rewrites the baseline after an
# intended addition. ABI_LIB and ABI_HEADERS name another build to check.
ABI_LIB ?= $(SHARED_LIB)
ABI_HEADERS ?= include
abi-check: $(ABI_LIB)
	abidiff --no-added-syms --suppressions abi/libmodmap.abignore \
	  --headers-dir2 $(ABI_HEADERS) abi/libmodmap.abi $(ABI_LIB)

abi-baseline: $(SHARED_LIB)
	abidw --no-comp-dir-path --no-corpus-path --headers-dir include \
	  --out-file abi/libmodmap.abi $(SHARED_LIB)

# ---- install -------------------------------------------------------------
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# What a static consumer links besides libmodmap (pkg-config --static).
# Relative to ${prefix} where they lie under it, so a staged tree is usable
# with pkg-config --define-prefix.
PC_LIBDIR = $(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))
PC_REQUIRES := zlib$(if $(filter -DHAVE_CBOR,$(CPPFLAGS)), libcbor)$(if \
	$(filter -DHAVE_NETTLE,$(CPPFLAGS)), nettle)$(if $(filter -DHAVE_ELFUTILS,$(CPPFLAGS)), libdw)
# libstdc++ for its demangler (symbolize.c), which has no .pc file.
PC_LIBS_PRIVATE := $(if $(filter -DHAVE_ELFUTILS,$(CPPFLAGS)),$(STDCXX_LIBS))

install: version-check all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(BUILD)/modmap $(DESTDIR)$(BINDIR)/modmap
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libmodmap.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libmodmap.so.$(SOVERSION)
	ln -sf libmodmap.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmodmap.so
	install -m 644 include/modmap.h $(DESTDIR)$(INCLUDEDIR)/modmap.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(PC_LIBDIR)|; s|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(PC_REQUIRES)|' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|' modmap.pc.in \
	    > $(DESTDIR)$(PKGCONFIGDIR)/modmap.pc
	install -m 644 docs/modmap.1 $(DESTDIR)$(MANDIR)/man1/modmap.1
	install -m 644 docs/libmodmap.3 $(DESTDIR)$(MANDIR)/man3/libmodmap.3

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/modmap $(DESTDIR)$(LIBDIR)/libmodmap.a \
	  $(DESTDIR)$(LIBDIR)/libmodmap.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmodmap.so \
	  $(DESTDIR)$(INCLUDEDIR)/modmap.h $(DESTDIR)$(PKGCONFIGDIR)/modmap.pc \
	  $(DESTDIR)$(MANDIR)/man1/modmap.1 $(DESTDIR)$(MANDIR)/man3/libmodmap.3

# ---- Debian packages (docs/packaging.md) ----------------------------------
# modmap, libmodmap0 and libmodmap-dev for this machine's architecture, into
# build/deb/, built by dpkg-buildpackage from a copy of the tracked files
# (its clean step would otherwise remove this build/); lintian then checks
# them: no error allowed, the warnings docs/packaging.md explains.
DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/modmap-$(VERSION)
deb: version-check
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else tar --exclude=./build --exclude=./$(BUILD) --exclude=./.git -cf - . | tar -xf - -C $(DEB_SRC); fi
	# The package's build is its own: none of this make's variables (BUILD=
	# among them, which its clean step would remove) reach it.
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	  dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.changes

$(BUILD)/tests:
	mkdir -p $@

# ---- Windows: cross-built with mingw-w64, run and tested under Wine ----
# zlib comes from libz-mingw-w64-dev and is linked statically (like the C
# runtime), so modmap.exe runs under a bare Wine prefix. No libcbor: Debian
# has no mingw build of it; a CBOR-capable build passes
# WIN_CPPFLAGS=-DHAVE_CBOR and WIN_LDLIBS with -lcbor (docs/windows.md).
WIN_CC ?= x86_64-w64-mingw32-gcc
WIN_BUILD := $(BUILD)/win64
WIN_CPPFLAGS ?=
# C99 printf (%zu, %llu) from mingw's runtime, not msvcrt's.
WIN_DEFS := -D__USE_MINGW_ANSI_STDIO=1 -DMODMAP_PRINTF_STYLE=gnu_printf
WIN_LDFLAGS ?= -static
WIN_LDLIBS ?= -lz
WIN_SRCS := $(LIB_COMMON) $(OS_SRCS_windows) $(CLI_SRCS)
WIN_OBJS := $(WIN_SRCS:%.c=$(WIN_BUILD)/obj/%.o)

windows: $(WIN_BUILD)/modmap.exe

$(WIN_BUILD)/modmap.exe: $(WIN_OBJS)
	$(WIN_CC) $(WIN_LDFLAGS) -o $@ $(WIN_OBJS) $(WIN_LDLIBS) -lshell32

WIN_FLAGS_NOW := $(WIN_CC) $(WARN) $(WIN_DEFS) $(WIN_CPPFLAGS) $(CFLAGS)
$(WIN_BUILD)/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(WIN_FLAGS_NOW)' | cmp -s - $@ || echo '$(WIN_FLAGS_NOW)' > $@

$(WIN_BUILD)/obj/%.o: %.c $(WIN_BUILD)/flags
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) $(WIN_DEFS) $(WIN_CPPFLAGS) $(if $(filter cli/%,$<),$(CLI_INCLUDES),$(INCLUDES)) \
	  $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(WIN_OBJS:.o=.d)

# ---- tests ------------------------------------------------------------
UNIT := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
UNIT_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
FIXTURES := $(BUILD)/fixtures/mapper $(BUILD)/fixtures/libfix.so $(BUILD)/fixtures/killshim.so \
	$(BUILD)/fixtures/sigshim.so \
	$(BUILD)/fixtures/lowexec $(BUILD)/fixtures/zombieleader $(BUILD)/fixtures/longpath $(BUILD)/fixtures/dlwatch \
	$(BUILD)/fixtures/goprof $(BUILD)/fixtures/goprof-pie $(BUILD)/fixtures/pprofedit \
	$(BUILD)/pprof \
	$(BUILD)/fixtures/lookupfix $(BUILD)/fixtures/lookupfix-pie $(BUILD)/fixtures/lookuplib.so \
	$(BUILD)/fixtures/noquery.so $(BUILD)/fixtures/modespy.so $(BUILD)/fixtures/apiprobe \
	$(BUILD)/fixtures/progressprobe
# Windows fixtures (tests/e2e/test_windows.py): a target program, a DLL it
# loads, a Go program (Debian's golang-go, cross-built, no network) that
# prints Go's own path+mtime IDs, and goprof cross-built, whose profiles
# are what attach exists for.
WIN_FIXTURES := $(WIN_BUILD)/fixtures/winfix.exe $(WIN_BUILD)/fixtures/fixdll.dll \
	$(WIN_BUILD)/fixtures/gomtime.exe $(WIN_BUILD)/fixtures/toolhelp_errors.exe \
	$(WIN_BUILD)/fixtures/goprof.exe $(WIN_BUILD)/fixtures/wexec.exe \
	$(WIN_BUILD)/fixtures/fixpdb.dll
# Go fixtures: Debian's golang-go, GOPATH mode, google/pprof from
# golang-github-google-pprof-dev; no network.
GO ?= go
GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(abspath $(BUILD))/gocache

# The unit tests call the library's internals: its objects, not libmodmap.a.
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(WARN) -Wno-strict-prototypes $(CPPFLAGS) $(INCLUDES) $(CFLAGS) -MMD -MP -o $@ $< \
	  $(LIB_OBJS) $(UNIT_LIBS) $(LDLIBS)

-include $(UNIT:=.d)

$(BUILD)/fixtures/libfix.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/lowexec: tests/fixtures/lowexec.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_DEFAULT_SOURCE -O1 -static -no-pie -o $@ $<

$(BUILD)/fixtures/zombieleader: tests/fixtures/zombieleader.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -pthread -o $@ $<

$(BUILD)/fixtures/longpath: tests/fixtures/longpath.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_DEFAULT_SOURCE -O1 -o $@ $<

$(BUILD)/fixtures/sigshim.so: tests/fixtures/sigshim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O1 -o $@ $< -ldl

# lookup's markers (tests/e2e/test_lookup.py): a non-PIE and a PIE
# executable, and a library linked at 0x100000 that the executable keeps
# from going there.
$(BUILD)/fixtures/lookupfix: tests/fixtures/lookupfix.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g -no-pie -fno-pie -Wl,--build-id=sha1 -o $@ $< -ldl

$(BUILD)/fixtures/lookupfix-pie: tests/fixtures/lookupfix.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g -pie -fPIE -Wl,--build-id=sha1 -o $@ $< -ldl

$(BUILD)/fixtures/lookuplib.so: tests/fixtures/lookuplib.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g -shared -fPIC -Wl,-Ttext-segment=0x100000 -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/killshim.so: tests/fixtures/killshim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O1 -o $@ $< -ldl

$(BUILD)/fixtures/dlwatch: tests/fixtures/dlwatch.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -o $@ $< -ldl

# A kernel without PROCMAP_QUERY, for MODMAP_TEST_NOQUERY=1 (docs/testing.md).
$(BUILD)/fixtures/noquery.so: tests/fixtures/noquery.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -shared -fPIC -O1 -o $@ $< -ldl

$(BUILD)/fixtures/modespy.so: tests/fixtures/modespy.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -shared -fPIC -O1 -o $@ $< -ldl

# A FUSE server that never answers a read (tests/e2e/test_trust_time.py,
# defect 8): built where libfuse3 is (Debian: libfuse3-dev); the tests that
# need it say so when it is not.
ifeq ($(shell $(PKG_CONFIG) --exists fuse3 && echo found),found)
FIXTURES += $(BUILD)/fixtures/fusestall
endif
$(BUILD)/fixtures/fusestall: tests/fixtures/fusestall.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_FILE_OFFSET_BITS=64 $(shell $(PKG_CONFIG) --cflags fuse3) -O1 -o $@ $< \
	  $(shell $(PKG_CONFIG) --libs fuse3)

# A program that uses only include/modmap.h (every field of a mapping, and
# collect with a pause between the snapshot and the copy).
$(BUILD)/fixtures/apiprobe: tests/fixtures/apiprobe.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -Iinclude -o $@ $< $(STATIC_LIB) $(LDLIBS)

# Prints every progress call of attach, a collector and a symbolizer
# (tests/e2e/test_progress.py), on include/modmap.h alone.
$(BUILD)/fixtures/progressprobe: tests/fixtures/progressprobe.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -Iinclude -o $@ $< $(STATIC_LIB) $(LDLIBS)

$(BUILD)/fixtures/mapper: tests/fixtures/mapper.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -Wl,--build-id=sha1 -o $@ $< -ldl

$(WIN_BUILD)/fixtures/winfix.exe: tests/fixtures/win/winfix.c
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) $(WIN_DEFS) -municode -O1 -static -o $@ $<

# Runs a program with a wide command line no Unix argument can carry.
$(WIN_BUILD)/fixtures/wexec.exe: tests/fixtures/win/wexec.c
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) $(WIN_DEFS) -municode -O1 -static -o $@ $<

$(WIN_BUILD)/fixtures/fixdll.dll: tests/fixtures/win/fixdll.c
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) -O1 -shared -Wl,--build-id -o $@ $<

# The DLL with its PDB beside it, named by its CodeView record (collect).
$(WIN_BUILD)/fixtures/fixpdb.dll: tests/fixtures/win/fixdll.c
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) -O1 -shared -Wl,--pdb=$(@:.dll=.pdb) -o $@ $<

# The backend against a scripted CreateToolhelp32Snapshot, for the failures
# Wine does not produce on demand.
WIN_LIB_OBJS := $(filter $(WIN_BUILD)/obj/lib/%,$(filter-out %/os/windows.o,$(WIN_OBJS)))
$(WIN_BUILD)/fixtures/toolhelp_errors.exe: tests/fixtures/win/toolhelp_errors.c lib/os/windows.c \
		$(WIN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) $(WIN_DEFS) -DCreateToolhelp32Snapshot=fake_CreateToolhelp32Snapshot \
	  $(INCLUDES) $(CFLAGS) -c -o $(WIN_BUILD)/fixtures/toolhelp_fake.o lib/os/windows.c
	$(WIN_CC) $(WARN) $(WIN_DEFS) $(CFLAGS) $(INCLUDES) $(WIN_LDFLAGS) -o $@ $< \
	  $(WIN_BUILD)/fixtures/toolhelp_fake.o $(WIN_LIB_OBJS) $(WIN_LDLIBS) -lshell32

$(WIN_BUILD)/fixtures/gomtime.exe: tests/fixtures/win/gomtime.go
	@mkdir -p $(dir $@)
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 GOPROXY=off GOFLAGS= \
	  GOCACHE=$(abspath $(BUILD))/go-cache go build -trimpath -o $@ $<

# The Go profiling fixture as a Windows program: Go 1.19 writes no real
# mapping table on Windows, the case attach is for.
$(WIN_BUILD)/fixtures/goprof.exe: tests/fixtures/goprof/main.go
	@mkdir -p $(dir $@)
	cd tests/fixtures/goprof && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 GOPROXY=off \
	  $(GOENV) $(GO) build -o $(abspath $@) .

# google/pprof's own command, from Debian's golang-github-google-pprof-dev
# source (vendored dependencies in /usr/share/gocode, no network): the judge
# of `modmap collect`, since it finds binaries by build ID under
# PPROF_BINARY_PATH, which golang-go's `go tool pprof` does not.
$(BUILD)/pprof:
	$(GOENV) GOPROXY=off $(GO) build -o $(abspath $@) github.com/google/pprof

$(BUILD)/fixtures/%: tests/fixtures/%/main.go
	@mkdir -p $(dir $@)
	cd tests/fixtures/$* && $(GOENV) $(GO) build -o $(abspath $@) .

# The same program as a position-independent executable: loaded at a random
# address, with the dynamic loader mapped too.
$(BUILD)/fixtures/goprof-pie: tests/fixtures/goprof/main.go
	@mkdir -p $(dir $@)
	cd tests/fixtures/goprof && $(GOENV) $(GO) build -buildmode=pie -o $(abspath $@) .

# Build-ID fixtures (tests/e2e/test_buildid.py): every kind of note, both
# ELF classes, a process that maps any file (also 32-bit, and static to run
# in a chroot), Go binaries, PE images.
MINGW64 ?= $(WIN_CC)
MINGW32 ?= i686-w64-mingw32-gcc
BID_FIXTURES := $(addprefix $(BUILD)/fixtures/,libfix-md5.so libfix-uuid.so libfix-none.so \
	libfix32.so idmapper idmapper32 idmapper-static gofix gofix-gnu \
	pefix-cv.exe pefix.exe pefix-cv.dll pefix32-cv.exe pefix32.exe pefix-pdb.exe)
FIXTURES += $(BID_FIXTURES)

$(BUILD)/fixtures/libfix-%.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -Wl,--build-id=$* -o $@ $<

$(BUILD)/fixtures/libfix32.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -m32 -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/idmapper: tests/fixtures/idmapper.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -Wl,--build-id=sha1 -o $@ $< -ldl

$(BUILD)/fixtures/idmapper32: tests/fixtures/idmapper.c
	@mkdir -p $(dir $@)
	$(CC) -m32 $(WARN) -D_GNU_SOURCE -O1 -Wl,--build-id=md5 -o $@ $< -ldl

$(BUILD)/fixtures/idmapper-static: tests/fixtures/idmapper.c
	@mkdir -p $(dir $@)
	$(CC) -static $(WARN) -D_GNU_SOURCE -DMAPPER_STATIC -O1 -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/gofix: tests/fixtures/gofix.go
	@mkdir -p $(dir $@)
	$(GOENV) $(GO) build -o $@ $<

# Go 1.19's linker has no -B gobuildid; an explicit -B value gives the
# binary a GNU note beside its Go one all the same.
$(BUILD)/fixtures/gofix-gnu: tests/fixtures/gofix.go
	@mkdir -p $(dir $@)
	$(GOENV) $(GO) build -ldflags=-B=0x60f1c0ffee0123456789abcdef0123456789abcd -o $@ $<

$(BUILD)/fixtures/pefix-cv.exe: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW64) -O1 -Wl,--build-id -o $@ $<

$(BUILD)/fixtures/pefix.exe: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW64) -O1 -Wl,--build-id=none -o $@ $<

$(BUILD)/fixtures/pefix-cv.dll: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW64) -O1 -shared -Wl,--build-id -o $@ $<

# ld writes a PDB and names it in the CodeView record (pdb_file).
$(BUILD)/fixtures/pefix-pdb.exe: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW64) -O1 -Wl,--pdb=$(@:.exe=.pdb) -o $@ $<

$(BUILD)/fixtures/pefix32-cv.exe: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW32) -O1 -Wl,--build-id -o $@ $<

$(BUILD)/fixtures/pefix32.exe: tests/fixtures/pefix.c
	@mkdir -p $(dir $@)
	$(MINGW32) -O1 -o $@ $<

# Symbolization fixtures (tests/e2e/test_symbolize.py): a PIE built -O2 -g
# with inlined, static and library-inlined code, and a C++ program. The
# tests strip, split and pack copies of them as distributions do.
CXX ?= c++
SYM_FIXTURES := $(addprefix $(BUILD)/fixtures/,symfix libsymfix.so symfixxx symfix-nobid)
FIXTURES += $(SYM_FIXTURES)

$(BUILD)/fixtures/libsymfix.so: tests/fixtures/symfixlib.c tests/fixtures/symfix.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/symfix: tests/fixtures/symfix.c tests/fixtures/symfix.h \
		$(BUILD)/fixtures/libsymfix.so
	$(CC) -O2 -g -fPIE -pie -Wl,--build-id=sha1 -o $@ $< -L$(BUILD)/fixtures -lsymfix \
	  -Wl,-rpath,'$$ORIGIN'

# No build ID: found by .gnu_debuglink alone, whose CRC is then the only check.
$(BUILD)/fixtures/symfix-nobid: tests/fixtures/symfix.c tests/fixtures/symfix.h \
		$(BUILD)/fixtures/libsymfix.so
	$(CC) -O2 -g -fPIE -pie -Wl,--build-id=none -o $@ $< -L$(BUILD)/fixtures -lsymfix \
	  -Wl,-rpath,'$$ORIGIN'

$(BUILD)/fixtures/symfixxx: tests/fixtures/symfixxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -fPIE -pie -Wl,--build-id=sha1 -o $@ $<

# How the tests run anywhere (docs/testing.md): MODMAP_TEST_STRICT=1 makes
# a skipped test a failure (cmocka's and pytest's alike); the e2e tests read
# MODMAP_TEST_NOQUERY and MODMAP_TEST_EXPECT_MISSING too.
export MODMAP_TEST_STRICT MODMAP_TEST_NOQUERY MODMAP_TEST_EXPECT_MISSING
STRICT_ON = [ -n "$$MODMAP_TEST_STRICT" ] && [ "$$MODMAP_TEST_STRICT" != 0 ]

# The unit tests of a build without libcbor too: test_emit_cbor's CBOR=no
# half compiles only there, and CI makes no other such build.
UNIT_NOCBOR := $(BUILD)/nocbor/tests/test_emit_cbor

# UNIT_RUN prefixes each unit test (make valgrind sets it).
UNIT_RUN ?=
unit: $(UNIT) $(UNIT_NOCBOR)
	@set -e; for t in $(UNIT) $(UNIT_NOCBOR); do echo "== $$t"; \
	  $(UNIT_RUN) $$t > $$t.log 2>&1 || { cat $$t.log; exit 1; }; cat $$t.log; \
	  if $(STRICT_ON) && grep -q 'SKIPPED' $$t.log; then \
	    echo "$$t: a test was skipped, and MODMAP_TEST_STRICT=1" >&2; exit 1; fi; done

$(BUILD)/nocbor/tests/%: tests/unit/%.c FORCE
	$(MAKE) --no-print-directory CBOR=no BUILD=$(BUILD)/nocbor $@

# $(call pytest,ENV,ARGS): pytest's exit status 5 is "no tests ran", a
# failure, never a pass.
define pytest
	rc=0; $(1) $(PYTHON) -m pytest $(2) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests ran ($(2))" >&2; exit 1; fi; exit $$rc
endef

# The whole library and command on the backend that reads no process
# (lib/os/none.c): what a port starts from (tests/e2e/test_seam.py).
$(BUILD)/osnone/modmap: $(LIB_COMMON) lib/os/none.c $(CLI_SRCS) FORCE
	$(MAKE) --no-print-directory OS=none BUILD=$(BUILD)/osnone $@

# The same program without libcbor, for the e2e test that it says so.
$(BUILD)/nocbor/modmap: $(LIB_SRCS) $(CLI_SRCS) FORCE
	$(MAKE) --no-print-directory CBOR=no BUILD=$(BUILD)/nocbor $@

# The same program without elfutils, for the e2e test that it says so.
$(BUILD)/nosym/modmap: $(LIB_SRCS) $(CLI_SRCS) FORCE
	$(MAKE) --no-print-directory SYMBOLIZE=0 BUILD=$(BUILD)/nosym $@

E2E_DEPS := $(FIXTURES) $(BUILD)/nocbor/modmap $(BUILD)/osnone/modmap $(BUILD)/nosym/modmap \
	$(WIN_BUILD)/modmap.exe $(WIN_FIXTURES)
# E2E_ARGS: more pytest arguments (.ci/run leaves the Windows tests to the
# runs whose variation reaches modmap.exe).
E2E_ARGS ?=
# E2E_JOBS pytest workers (python3-pytest-xdist), each taking whole files
# (one Wine prefix, one installed library per file); 1 runs them in order.
E2E_JOBS ?= 2
E2E_PAR := $(if $(filter-out 0 1,$(E2E_JOBS)),$(if $(shell $(PYTHON) -c 'import xdist' 2>/dev/null && echo y),-n $(E2E_JOBS) --dist loadfile))
e2e: $(BUILD)/modmap $(E2E_DEPS)
	$(call pytest,,-q $(E2E_PAR) $(E2E_ARGS) tests/e2e)

# ---- ThreadSanitizer: two threads snapshot, attach and collect at once
# (tests/e2e/test_threads.py); the library's sources built with clang's
# -fsanitize=thread, like the fuzzers.
TSAN_CC ?= clang
$(BUILD)/tsan/tsan_threads: tests/fixtures/tsan_threads.c $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(TSAN_CC) -g -O1 -fsanitize=thread -std=c11 $(CPPFLAGS) $(INCLUDES) -o $@ $< \
	  $(LIB_SRCS) $(LDLIBS) -lpthread

# ---- fuzzing (libFuzzer): tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := $(LIB_SRCS)
FUZZ := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 120
# The library is instrumented once (coverage feedback and the sanitizers,
# no libFuzzer main) into one static library; each target links against it
# instead of compiling all of lib/ again.
FUZZ_LIB_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OBJS := $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_LIB := $(BUILD)/fuzz/libmodmap-fuzz.a
FUZZ_FLAGS_NOW := $(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_LIB_FLAGS) $(CPPFLAGS)
$(BUILD)/fuzz/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(FUZZ_FLAGS_NOW)' | cmp -s - $@ || echo '$(FUZZ_FLAGS_NOW)' > $@

$(BUILD)/fuzz/obj/%.o: %.c $(BUILD)/fuzz/flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_LIB_FLAGS) -std=c11 $(CPPFLAGS) $(INCLUDES) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 $(CPPFLAGS) $(INCLUDES) -MMD -MP -o $@ $< $(FUZZ_LIB) $(LDLIBS)

-include $(FUZZ_OBJS:.o=.d) $(FUZZ:=.d)

# Each target runs on a scratch copy of its seeds, so the repo's corpus
# only changes by hand.
# FUZZ_JOBS targets at a time (one per core by default).
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
define run_fuzz
	@printf '%s\n' $(FUZZ) | xargs -P $(FUZZ_JOBS) -I{} sh -c 't={}; n=$${t##*/fuzz_}; \
	  c=$(BUILD)/fuzz/corpus-$$n; rm -rf $$c; mkdir -p $$c; \
	  cp tests/fuzz/corpus/$$n/* $$c/ 2>/dev/null || true; echo "== fuzz $$n for $(1)s"; \
	  $$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 $$c \
	    2>$(BUILD)/fuzz/$$n.log || { echo "== fuzz $$n FAILED"; tail -40 $(BUILD)/fuzz/$$n.log; exit 255; }'
endef

fuzz: $(FUZZ)
	$(call run_fuzz,$(FUZZ_SECONDS))

# make check: each target runs its seeds and then mutates for a few seconds
# (CI's `make fuzz` gives each 45 s).
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke: $(FUZZ)
	$(call run_fuzz,$(FUZZ_SMOKE_SECONDS))

check: all unit fuzz-smoke e2e

# Everything the end-to-end tests run, built once (tests/mutate.py).
fixtures: $(FIXTURES)
win-fixtures: $(WIN_BUILD)/modmap.exe $(WIN_FIXTURES)

# Plants each bug of tests/mutants/*.mut in a scratch copy and runs the tests
# meant to catch it (docs/testing.md). Slow; not part of check or CI.
mutate:
	$(PYTHON) tests/mutate.py

# MUTANTS mutants made at random on lines the tests run, each against its
# file's tests (tests/mutants/areas.txt); the seed is printed. Reproducible
# per commit by default (CI runs it on every submission).
MUTANTS ?= 10
MUTATE_SEED ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
mutate-random:
	$(PYTHON) tests/mutate.py --random $(MUTANTS) $(if $(MUTATE_SEED),--seed $(MUTATE_SEED))
# ---- sanitizers, valgrind, static checks (docs/testing.md) ---------------
# The unit tests and modmap built with ASan+UBSan into build/asan; the e2e
# tests then run that modmap (MODMAP=...), fixtures from build/fixtures.
ASAN_BUILD := $(BUILD)/asan
comma := ,
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: $(E2E_DEPS)
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS='$(SAN_CFLAGS)' \
	  LDFLAGS='-fsanitize=address,undefined' $(ASAN_BUILD)/modmap $(ASAN_BUILD)/libmodmap.a
	$(SAN_ENV) $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS='$(SAN_CFLAGS)' unit
	$(call pytest,$(SAN_ENV) MODMAP=$(abspath $(ASAN_BUILD)/modmap) MODMAP_TEST_SANITIZED=1 \
	  MODMAP_TEST_EXPECT_MISSING=uninstrumented$${MODMAP_TEST_EXPECT_MISSING:+$(comma)$$MODMAP_TEST_EXPECT_MISSING},-q \
	  --ignore=tests/e2e/test_windows.py --ignore=tests/e2e/test_packages.py tests/e2e)

# ---- coverage (docs/testing.md) ------------------------------------------
# The unit tests and modmap built with gcov into build/cov, the unit tests
# and then the e2e tests run against that modmap (every process, root or
# the ordinary users the tests make, adds to the same .gcda files), and
# gcovr's report of lib/ and cli/ in build/coverage: lines.txt (per file),
# summary.json (lines and branches per file), coverage.json (per line:
# tests/mutate.py --random takes the executed lines from it), index.html.
COV_BUILD := $(BUILD)/cov
COV_CFLAGS := -O0 -g --coverage
COV_DIR := $(BUILD)/coverage
coverage: $(E2E_DEPS)
	find $(COV_BUILD) -name '*.gcda' -delete 2>/dev/null || true
	$(MAKE) --no-print-directory BUILD=$(COV_BUILD) CFLAGS='$(COV_CFLAGS)' LDFLAGS=--coverage \
	  $(COV_BUILD)/modmap
	$(MAKE) --no-print-directory BUILD=$(COV_BUILD) CFLAGS='$(COV_CFLAGS)' LDFLAGS=--coverage unit
	@# Every unit's .gcda made now and opened to all: the ordinary users the
	@# tests run modmap as add to it (else libgcov complains on stderr).
	$(COV_BUILD)/modmap --version > /dev/null
	find $(COV_BUILD) -type d -exec chmod a+rwx {} + ; find $(COV_BUILD) -name '*.gcda' -exec chmod a+rw {} +
	-$(call pytest,MODMAP=$(abspath $(COV_BUILD)/modmap),-q $(E2E_PAR) --ignore=tests/e2e/test_windows.py \
	  --ignore=tests/e2e/test_packages.py tests/e2e)
	@mkdir -p $(COV_DIR)
	gcovr -r . -f 'lib/' -f 'cli/' -e 'lib/os/windows' \
	  --exclude-unreachable-branches --exclude-throw-branches \
	  --txt $(COV_DIR)/lines.txt --json-summary $(COV_DIR)/summary.json --json-summary-pretty \
	  --json $(COV_DIR)/coverage.json --html-details $(COV_DIR)/index.html -s $(COV_BUILD)/obj
	$(PYTHON) tests/covsummary.py $(COV_DIR)/summary.json

# memcheck over every unit test: any error or leak fails.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect,possible
valgrind: $(UNIT)
	$(MAKE) --no-print-directory unit UNIT_RUN='$(VALGRIND)'

# Static checks, no findings allowed: cppcheck (Linux and Windows code),
# clang-tidy with the checks in .clang-tidy (Linux, and the Windows files
# against mingw's headers), shellcheck on every shell script.
CPPCHECK := cppcheck -q --std=c11 --enable=warning,portability,performance --inline-suppr \
	--error-exitcode=1 -Iinclude -Ilib -D_FILE_OFFSET_BITS=64 -DHAVE_CBOR
WIN_TIDY_SRCS := $(OS_SRCS_windows) cli/term.c
SHELL_SCRIPTS := .ci/run .ci/install-deps .ci/unprivileged $(wildcard bench/*.sh)
lint:
	$(CPPCHECK) -U_WIN32 lib cli
	$(CPPCHECK) -D_WIN32 lib cli
	clang-tidy --quiet $(LIB_SRCS) $(CLI_SRCS) -- -std=c11 $(INCLUDES) $(CPPFLAGS)
	clang-tidy --quiet $(WIN_TIDY_SRCS) -- --target=x86_64-w64-mingw32 -std=c11 $(INCLUDES) \
	  $(WIN_DEFS) -isystem /usr/x86_64-w64-mingw32/include
	shellcheck $(SHELL_SCRIPTS)

# Benchmark floors and fixtures (bench/README.md): C programs in bench/,
# built here, never committed as binaries.
BENCH_BINS := $(BUILD)/bench/floor_query $(BUILD)/bench/floor_maps $(BUILD)/bench/manymaps

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -o $@ $<

bench: all $(FIXTURES) $(BENCH_BINS)
	bash bench/run.sh

clean:
	rm -rf $(BUILD)

# `make -s print-VAR` prints a variable, for the tests that rebuild part of
# the library (tests/e2e/test_abi.py).
print-%:
	@echo '$($*)'

.PHONY: all windows unit e2e check mutate mutate-random coverage fixtures win-fixtures clean fuzz fuzz-smoke bench \
	install uninstall version-check deb FORCE sanitize valgrind lint abi-check abi-baseline
