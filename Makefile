# socketio-c: one Makefile for the library, the programs and the tests.
#
#   make              build build/libsocketio.a and the programs (build/conformance, build/examples/*)
#   make run          install what is missing, build, start the default server on port 3000
#   make test         install what is missing, run every test (unit tests under ASan+UBSan, interop, fuzz smoke)
#   make fuzz         longer libFuzzer runs (FUZZ_SECONDS per target)
#   make bench        our server against Node's socket.io, side by side, quick version (FULL=1: the full one)
#   make SANITIZE=1   build everything with -fsanitize=address,undefined into build/san/
#   make CC=clang     build with clang (gcc and clang must both stay warning-free)

CC ?= cc
SANITIZE ?=
PORT ?= 3000
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10

ifeq ($(SANITIZE),1)
  BUILD ?= build/san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1
else
  BUILD ?= build
  SANFLAGS :=
  OPT := -O2
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -Wvla
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -I. -MMD -MP
PKGS := libevent libcjson hiredis msgpack
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -levent -lcjson -lhiredis -lmsgpackc) -lhttp_parser -lcrypto -lz -lm
LDFLAGS += $(SANFLAGS)

LIB_SRC := $(wildcard engineio/*.c socketio/*.c rooms/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libsocketio.a

# Every examples/<name>/ with a main.c is a program, linked with its other .c files and examples/common/.
EXAMPLE_NAMES := $(patsubst examples/%/main.c,%,$(wildcard examples/*/main.c))
EX_COMMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard examples/common/*.c))
PROGS := $(BUILD)/conformance $(EXAMPLE_NAMES:%=$(BUILD)/examples/%)
BENCH_BIN := $(BUILD)/bench/loadgen $(BUILD)/bench/bench_server
# Harness code shared by the unit tests and the fuzz targets (a fake Redis, raw WebSocket clients, th_ names):
# linked into every one of them.
TEST_COMMON_SRC := $(wildcard test/common/*.c)
TEST_COMMON_OBJ := $(TEST_COMMON_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:test/fuzz/%.c=build/fuzz/%)

.PHONY: all deps deps-test run test test-unit test-interop test-interop-san test-fuzz fuzz bench clean format
all: $(LIB) $(PROGS) $(BENCH_BIN)

deps:
	@scripts/deps.sh

deps-test:
	@scripts/deps.sh --test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/conformance: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard test/conformance/*.c)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The examples find their pages and the client bundle in this checkout unless told otherwise (--public, --client-dir).
$(BUILD)/obj/examples/%.o: ALL_CFLAGS += -DEX_SOURCE_DIR='"$(CURDIR)"'

# Objects made through the rule below are not intermediate files: keep them (and their .d files) between builds.
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/examples/%: $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard examples/$$*/*.c))) $(EX_COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/loadgen: $(BUILD)/obj/bench/loadgen.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/bench_server: $(BUILD)/obj/bench/server.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(TEST_COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

run: deps all
	@echo "make run: the chat example on every interface (--host 0.0.0.0): open http://localhost:$(PORT)/"
	$(BUILD)/examples/chat --host 0.0.0.0 --port $(PORT)

# Everything: unit tests (plain, then under ASan+UBSan), a warning-free clang build, the interop suites
# against the plain build and against the ASan+UBSan build, then short fuzz runs.
test: deps-test
	$(MAKE) all test-unit
	$(MAKE) SANITIZE=1 all test-unit
	$(MAKE) CC=clang BUILD=build/clang all
	$(MAKE) test-interop
	$(MAKE) test-interop-san
	$(MAKE) test-fuzz

test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test-interop: all
	node --test --test-concurrency=4 test/interop/ test/cluster/

# The same suites against build/san/conformance: a leak or memory error fails the test that stops the server.
test-interop-san:
	$(MAKE) SANITIZE=1 all
	EIO_CONFORMANCE=build/san/conformance node --test --test-concurrency=4 test/interop/ test/cluster/

build/fuzz/%: test/fuzz/%.c $(TEST_COMMON_SRC) $(wildcard test/common/*.h engineio/*.c engineio/*.h socketio/*.c \
                                socketio/*.h rooms/*.c rooms/*.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined $(WARN) -o $@ $< \
	  $(filter-out %.h,$(wordlist 2,999,$^)) $(LDLIBS)

test-fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  echo "== $$f ($(FUZZ_SMOKE_SECONDS) s)"; \
	  d=; [ -f test/fuzz/$$n.dict ] && d=-dict=test/fuzz/$$n.dict; \
	  $$f $$d -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=0 build/fuzz/corpus-$$n test/fuzz/seeds/$$n \
	    > build/fuzz/$$n.log 2>&1 || { tail -60 build/fuzz/$$n.log; echo "FAILED: $$f (log: build/fuzz/$$n.log)"; exit 1; }; \
	  tail -1 build/fuzz/$$n.log; done

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	  d=; [ -f test/fuzz/$$n.dict ] && d=-dict=test/fuzz/$$n.dict; \
	  $$f $$d -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n test/fuzz/seeds/$$n; done

# The benchmark: our bench server and Node's socket.io 4.8 under the same C load generator, one run, ratios.
bench:
	@scripts/deps.sh --bench
	$(MAKE) all $(BENCH_BIN)
	node bench/run.mjs $(if $(FULL),--full)

format:
	clang-format -i engineio/*.[ch] socketio/*.[ch] rooms/*.[ch] test/unit/*.c test/fuzz/*.c test/common/*.[ch] test/conformance/*.c examples/*/*.[ch]

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
