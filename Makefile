# modmap - see README.md for how the pieces fit.
CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD := build

CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_FILE_OFFSET_BITS=64
ZLIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags zlib)
ZLIB_LIBS := $(shell $(PKG_CONFIG) --libs zlib || echo -lz)
CPPFLAGS += $(ZLIB_CFLAGS)
LDLIBS += $(ZLIB_LIBS)

COMMON := src/snapshot.c src/buf.c src/buildid.c src/emit_text.c src/emit_json.c src/platform.c \
	src/pbwire.c src/gz.c src/pprof.c
LINUX := src/procmaps.c
SRCS := $(COMMON) $(LINUX) src/main.c
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
HDRS := $(wildcard src/*.h)

all: $(BUILD)/modmap

$(BUILD)/modmap: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)/obj
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# ---- tests ------------------------------------------------------------
UNIT := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
UNIT_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
FIXTURES := $(BUILD)/fixtures/mapper $(BUILD)/fixtures/libfix.so

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(HDRS) | $(BUILD)/tests
	$(CC) $(WARN) -Wno-strict-prototypes $(CPPFLAGS) $(CFLAGS) -Isrc -o $@ $< $(LIB_OBJS) $(UNIT_LIBS) $(LDLIBS)

$(BUILD)/fixtures/libfix.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/mapper: tests/fixtures/mapper.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -Wl,--build-id=sha1 -o $@ $< -ldl

# Build-ID fixtures (tests/e2e/test_buildid.py): every kind of note, both
# ELF classes, a process that maps any file (also 32-bit, and static to run
# in a chroot), Go binaries, PE images.
GO ?= go
GOENV := GOCACHE=$(abspath $(BUILD))/gocache GOPATH=$(abspath $(BUILD))/gopath \
	GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
MINGW64 ?= x86_64-w64-mingw32-gcc
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

e2e: $(BUILD)/modmap $(FIXTURES)
	python3 -m pytest -q tests/e2e

# ---- fuzzing (libFuzzer): tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := $(filter-out src/main.c,$(SRCS))
FUZZ := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 120

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 $(CPPFLAGS) -Isrc -o $@ $< $(FUZZ_SRCS) $(LDLIBS)

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

check: all unit e2e fuzz-smoke

clean:
	rm -rf $(BUILD)

.PHONY: all unit e2e check clean fuzz fuzz-smoke
