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

# The layout: include/ the public header, lib/ the library (one backend
# file per OS), cli/ the command. docs/library.md says what is exported.
VERSION := $(shell sed -n 's/^\#define MODMAP_VERSION_STRING "\(.*\)"/\1/p' include/modmap.h)
SOVERSION := 0
LIB_COMMON := $(filter-out lib/procmaps.c lib/toolhelp.c,$(sort $(wildcard lib/*.c)))
LIB_SRCS := $(LIB_COMMON) lib/procmaps.c
CLI_SRCS := $(sort $(wildcard cli/*.c))
INCLUDES := -Iinclude -Ilib
OBJ := $(BUILD)/obj
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(OBJ)/%.o)
STATIC_LIB := $(BUILD)/libmodmap.a
SHARED_LIB := $(BUILD)/libmodmap.so.$(SOVERSION)
# The library's objects serve the static and the shared library both;
# only what include/modmap.h marks MODMAP_API is exported.
LIB_CFLAGS := -fPIC -fvisibility=hidden

all: $(BUILD)/modmap $(STATIC_LIB) $(SHARED_LIB)

# Objects record the flags they were built with: a change of CC, CFLAGS or
# CPPFLAGS rewrites this file, and every object depending on it rebuilds.
FLAGS_NOW := $(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS)
$(BUILD)/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

$(OBJ)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(INCLUDES) $(CFLAGS) $(if $(filter lib/%,$<),$(LIB_CFLAGS)) \
	  -MMD -MP -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libmodmap.so.$(SOVERSION) -Wl,--no-undefined $(LDFLAGS) \
	  -o $@ $(LIB_OBJS) $(LDLIBS)
	ln -sf libmodmap.so.$(SOVERSION) $(BUILD)/libmodmap.so

# The command links the library statically: one file to copy anywhere.
$(BUILD)/modmap: $(CLI_OBJS) $(STATIC_LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

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
PC_REQUIRES := zlib$(if $(filter -DHAVE_CBOR,$(CPPFLAGS)), libcbor)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(BUILD)/modmap $(DESTDIR)$(BINDIR)/modmap
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libmodmap.a
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libmodmap.so.$(SOVERSION)
	ln -sf libmodmap.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmodmap.so
	install -m 644 include/modmap.h $(DESTDIR)$(INCLUDEDIR)/modmap.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(PC_LIBDIR)|; s|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(PC_REQUIRES)|' modmap.pc.in \
	    > $(DESTDIR)$(PKGCONFIGDIR)/modmap.pc
	install -m 644 docs/modmap.1 $(DESTDIR)$(MANDIR)/man1/modmap.1
	install -m 644 docs/libmodmap.3 $(DESTDIR)$(MANDIR)/man3/libmodmap.3

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/modmap $(DESTDIR)$(LIBDIR)/libmodmap.a \
	  $(DESTDIR)$(LIBDIR)/libmodmap.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmodmap.so \
	  $(DESTDIR)$(INCLUDEDIR)/modmap.h $(DESTDIR)$(PKGCONFIGDIR)/modmap.pc \
	  $(DESTDIR)$(MANDIR)/man1/modmap.1 $(DESTDIR)$(MANDIR)/man3/libmodmap.3

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
WIN_DEFS := -D__USE_MINGW_ANSI_STDIO=1
WIN_LDFLAGS ?= -static
WIN_LDLIBS ?= -lz
WIN_SRCS := $(LIB_COMMON) lib/toolhelp.c $(CLI_SRCS)
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
	$(WIN_CC) $(WARN) $(WIN_DEFS) $(WIN_CPPFLAGS) $(INCLUDES) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(WIN_OBJS:.o=.d)

# ---- tests ------------------------------------------------------------
UNIT := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
UNIT_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
FIXTURES := $(BUILD)/fixtures/mapper $(BUILD)/fixtures/libfix.so $(BUILD)/fixtures/killshim.so \
	$(BUILD)/fixtures/lowexec \
	$(BUILD)/fixtures/goprof $(BUILD)/fixtures/goprof-pie $(BUILD)/fixtures/pprofedit
# Windows fixtures (tests/e2e/test_windows.py): a target program, a DLL it
# loads, a Go program (Debian's golang-go, cross-built, no network) that
# prints Go's own path+mtime IDs, and goprof cross-built, whose profiles
# are what attach exists for.
WIN_FIXTURES := $(WIN_BUILD)/fixtures/winfix.exe $(WIN_BUILD)/fixtures/fixdll.dll \
	$(WIN_BUILD)/fixtures/gomtime.exe $(WIN_BUILD)/fixtures/toolhelp_errors.exe \
	$(WIN_BUILD)/fixtures/goprof.exe $(WIN_BUILD)/fixtures/wexec.exe
# Go fixtures: Debian's golang-go, GOPATH mode, google/pprof from
# golang-github-google-pprof-dev; no network.
GO ?= go
GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(abspath $(BUILD))/gocache

$(BUILD)/tests/%: tests/unit/%.c $(STATIC_LIB) | $(BUILD)/tests
	$(CC) $(WARN) -Wno-strict-prototypes $(CPPFLAGS) $(INCLUDES) $(CFLAGS) -MMD -MP -o $@ $< \
	  $(STATIC_LIB) $(UNIT_LIBS) $(LDLIBS)

-include $(UNIT:=.d)

$(BUILD)/fixtures/libfix.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/lowexec: tests/fixtures/lowexec.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_DEFAULT_SOURCE -O1 -static -no-pie -o $@ $<

$(BUILD)/fixtures/killshim.so: tests/fixtures/killshim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O1 -o $@ $< -ldl

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

# The backend against a scripted CreateToolhelp32Snapshot, for the failures
# Wine does not produce on demand.
WIN_LIB_OBJS := $(filter $(WIN_BUILD)/obj/lib/%,$(filter-out %/toolhelp.o,$(WIN_OBJS)))
$(WIN_BUILD)/fixtures/toolhelp_errors.exe: tests/fixtures/win/toolhelp_errors.c lib/toolhelp.c \
		$(WIN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(WIN_CC) $(WARN) $(WIN_DEFS) -DCreateToolhelp32Snapshot=fake_CreateToolhelp32Snapshot \
	  $(INCLUDES) $(CFLAGS) -c -o $(WIN_BUILD)/fixtures/toolhelp_fake.o lib/toolhelp.c
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

unit: $(UNIT)
	@set -e; for t in $(UNIT); do echo "== $$t"; $$t; done

# The same program without libcbor, for the e2e test that it says so.
$(BUILD)/nocbor/modmap: $(LIB_SRCS) $(CLI_SRCS) FORCE
	$(MAKE) --no-print-directory CBOR=no BUILD=$(BUILD)/nocbor $@

e2e: $(BUILD)/modmap $(FIXTURES) $(BUILD)/nocbor/modmap $(WIN_BUILD)/modmap.exe $(WIN_FIXTURES)
	$(PYTHON) -m pytest -q tests/e2e

# ---- fuzzing (libFuzzer): tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := $(LIB_SRCS)
FUZZ := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 120

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard lib/*.h include/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 $(CPPFLAGS) $(INCLUDES) -o $@ $< $(FUZZ_SRCS) $(LDLIBS)

# Each target runs on a scratch copy of its seeds, so the repo's corpus
# only changes by hand.
define run_fuzz
	@set -e; for t in $(FUZZ); do n=$${t##*/fuzz_}; c=$(BUILD)/fuzz/corpus-$$n; \
	  rm -rf $$c; mkdir -p $$c; cp tests/fuzz/corpus/$$n/* $$c/ 2>/dev/null || true; \
	  echo "== fuzz $$n for $(1)s"; $$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=0 $$c 2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; done
endef

fuzz: $(FUZZ)
	$(call run_fuzz,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ)
	$(call run_fuzz,15)

check: all unit fuzz-smoke e2e

bench: all $(FIXTURES)
	bash bench/run.sh

clean:
	rm -rf $(BUILD)

.PHONY: all windows unit e2e check clean fuzz fuzz-smoke bench install uninstall FORCE
