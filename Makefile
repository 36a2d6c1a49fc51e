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
# libcbor is optional: without it, attach says it cannot read CBOR snapshots.
CBOR_LIBS := $(shell $(PKG_CONFIG) --libs libcbor 2>/dev/null)
ifneq ($(CBOR_LIBS),)
CPPFLAGS += -DHAVE_CBOR $(shell $(PKG_CONFIG) --cflags libcbor)
LDLIBS += $(CBOR_LIBS)
endif

COMMON := src/snapshot.c src/buf.c src/buildid.c src/emit_text.c src/emit_json.c src/platform.c \
	src/pbwire.c src/gz.c src/pprof.c src/attach.c src/attach_cbor.c
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
# Fixtures whose sources exist on this tree (branches add theirs).
FIXTURES := $(if $(wildcard tests/fixtures/mapper.c),$(BUILD)/fixtures/mapper $(BUILD)/fixtures/libfix.so) \
	$(BUILD)/fixtures/goprof $(BUILD)/fixtures/goprof-pie $(BUILD)/fixtures/pprofedit
# pytest may be installed for the system python3 only (Debian's python3-pytest).
PYTHON ?= $(shell python3 -c 'import pytest' 2>/dev/null && echo python3 || echo /usr/bin/python3)
# Go fixtures: Debian's golang-go, GOPATH mode, google/pprof from
# golang-github-google-pprof-dev; no network.
GO ?= go
GOENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(abspath $(BUILD))/gocache

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(HDRS) | $(BUILD)/tests
	$(CC) $(WARN) -Wno-strict-prototypes $(CPPFLAGS) $(CFLAGS) -Isrc -o $@ $< $(LIB_OBJS) $(UNIT_LIBS) $(LDLIBS)

$(BUILD)/fixtures/libfix.so: tests/fixtures/libfix.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -Wl,--build-id=sha1 -o $@ $<

$(BUILD)/fixtures/mapper: tests/fixtures/mapper.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -Wl,--build-id=sha1 -o $@ $< -ldl

$(BUILD)/fixtures/%: tests/fixtures/%/main.go
	@mkdir -p $(dir $@)
	cd tests/fixtures/$* && $(GOENV) $(GO) build -o $(abspath $@) .

# The same program as a position-independent executable: loaded at a random
# address, with the dynamic loader mapped too.
$(BUILD)/fixtures/goprof-pie: tests/fixtures/goprof/main.go
	@mkdir -p $(dir $@)
	cd tests/fixtures/goprof && $(GOENV) $(GO) build -buildmode=pie -o $(abspath $@) .

unit: $(UNIT)
	@set -e; for t in $(UNIT); do echo "== $$t"; $$t; done

e2e: $(BUILD)/modmap $(FIXTURES)
	$(PYTHON) -m pytest -q tests/e2e

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
