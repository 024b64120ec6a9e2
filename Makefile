# punchlab: `make` builds, `make check` runs every test (also under ASan+UBSan),
# `make run` runs the main job, `make fuzz` fuzzes every parser, `make bench`.
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-format-truncation
LIBS      = -lnftnl -lmnl -lsodium -lpcap
SANFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 20
LAB_JOBS ?= 2
V ?= 0
ifeq ($(V),0)
Q = @
SAY = @echo
else
Q =
SAY = @true
endif

LIB_SRC   = $(filter-out harness/main.c,$(wildcard harness/*.c harness/*/*.c)) $(wildcard ref/wg/*.c ref/mesh/*.c)
HDRS      = $(wildcard harness/*.h harness/*/*.h ref/*/*.h tests/data/wg/*.h)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
LAB_SRC   = $(wildcard tests/lab/lab_*.c)
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)

# Two builds of everything: plain in build/, sanitized in build/asan/.
OBJ       = $(LIB_SRC:%.c=build/obj/%.o)
ASAN_OBJ  = $(LIB_SRC:%.c=build/asan/obj/%.o)
UNIT      = $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_UNIT = $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
LAB       = $(LAB_SRC:tests/lab/%.c=build/asan/tests/%)
FUZZ      = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps deps-test check unit lab run fuzz bench clean
MESH_BIN  = punchlab-introducer punchlab-agent
all: deps build/punchlab build/asan/punchlab build/punchlab-wg build/asan/punchlab-wg \
	$(MESH_BIN:%=build/%) $(MESH_BIN:%=build/asan/%)

deps:
	@ci/deps.sh
# What only the tests need: a browser to render the run report, and the
# third-party tools punchlab run drives.
deps-test:
	@ci/deps.sh chromium nebula tinc

build/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
build/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

build/libpunchlab.a: $(OBJ)
	$(SAY) "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^
build/asan/libpunchlab.a: $(ASAN_OBJ)
	$(SAY) "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

build/punchlab: harness/main.c build/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS)
build/asan/punchlab: harness/main.c build/asan/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(LIBS)

build/punchlab-wg: ref/wg/tool/main.c build/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iref $^ -o $@ $(LIBS)
build/asan/punchlab-wg: ref/wg/tool/main.c build/asan/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iref $^ -o $@ $(LIBS)

# The reference mesh: each program is its folder's files and the library.
build/punchlab-introducer: $(wildcard ref/introducer/*.c) build/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref $^ -o $@ $(LIBS)
build/asan/punchlab-introducer: $(wildcard ref/introducer/*.c) build/asan/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref $^ -o $@ $(LIBS)
build/punchlab-agent: $(wildcard ref/agent/*.c) build/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref $^ -o $@ $(LIBS)
build/asan/punchlab-agent: $(wildcard ref/agent/*.c) build/asan/libpunchlab.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref $^ -o $@ $(LIBS)

build/tests/%: tests/unit/%.c build/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref -I. $^ -o $@ $(LIBS) -lcmocka -lm
build/asan/tests/test_%: tests/unit/test_%.c build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref -I. $^ -o $@ $(LIBS) -lcmocka -lm
build/asan/tests/lab_%: tests/lab/lab_%.c $(wildcard tests/lab/*.h) build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref -I. $(filter %.c %.a,$^) -o $@ $(LIBS) -lcmocka -lm

# Test equipment: programs the lab tests run (a userspace NAT for conform).
TOOLS     = build/asan/tests/toynat
build/asan/tests/toynat: tests/tools/toynat.c build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness $^ -o $@ $(LIBS)

FUZZ_LIB  = $(filter-out harness/cmd/%,$(LIB_SRC))
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS) $(wildcard tests/tools/*.c)
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZ  $@"
	$(Q)clang $(filter-out -Wno-format-truncation,$(CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined -Iharness -Iref -I. \
		$< $(FUZZ_LIB) -o $@ $(LIBS)

# Unit tests run plain and sanitized; lab tests (root: namespaces, nftables)
# run sanitized, $(LAB_JOBS) at a time, each in its own uniquely named runs.
check: deps deps-test all $(UNIT) $(ASAN_UNIT) $(LAB) $(TOOLS)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "$(LAB)" $(LAB_JOBS)

unit: $(UNIT) $(ASAN_UNIT)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "" 1

lab: all $(LAB) $(TOOLS)
	@ci/check.sh "" "$(LAB)" $(LAB_JOBS)

# The main job. Until the traversal matrix exists, it is the NAT models
# measured against their declarations.
run: deps all
	build/punchlab run

fuzz: $(FUZZ)
	@ci/fuzz.sh $(FUZZ_SECONDS) $(FUZZ)

bench: deps build/punchlab build/punchlab-wg
	@ci/bench-wg.sh

clean:
	rm -rf build
