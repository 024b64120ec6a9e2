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

# The mesh's cores (the introducer's and the agent's handlers) are in the
# library, so the unit tests and fuzzers drive them; their programs add a
# main and a daemon (sockets, loop) each.
MESH_CORE = ref/introducer/introducer.c ref/agent/agent.c ref/agent/punch.c ref/agent/status.c
LIB_SRC   = $(filter-out harness/main.c,$(wildcard harness/*.c harness/*/*.c)) $(wildcard ref/wg/*.c ref/mesh/*.c) $(MESH_CORE)
HDRS      = $(wildcard harness/*.h harness/*/*.h ref/*/*.h tests/data/wg/*.h tests/sim/*.h)
SIM_SRC   = tests/sim/sim.c   # the simulated internet the mesh's cores meet in (unit tests)
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

.PHONY: all deps deps-test check unit lab run fuzz bench mutants clean
MESH_BIN  = punchlab-introducer punchlab-agent
all: deps build/punchlab build/asan/punchlab build/punchlab-wg build/asan/punchlab-wg \
	$(MESH_BIN:%=build/%) $(MESH_BIN:%=build/asan/%)

deps:
	@ci/deps.sh
# What only the tests need: a browser to render the run report, and the
# third-party tools punchlab run drives.
deps-test: deps
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

# The reference mesh: each program is its main and daemon, and the library.
INTRODUCER_SRC = ref/introducer/main.c ref/introducer/daemon.c
AGENT_SRC = ref/agent/main.c ref/agent/daemon.c
build/punchlab-introducer: $(INTRODUCER_SRC) build/libpunchlab.a $(HDRS)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref $(filter %.c %.a,$^) -o $@ $(LIBS)
build/asan/punchlab-introducer: $(INTRODUCER_SRC) build/asan/libpunchlab.a $(HDRS)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref $(filter %.c %.a,$^) -o $@ $(LIBS)
build/punchlab-agent: $(AGENT_SRC) build/libpunchlab.a $(HDRS)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref $(filter %.c %.a,$^) -o $@ $(LIBS)
build/asan/punchlab-agent: $(AGENT_SRC) build/asan/libpunchlab.a $(HDRS)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref $(filter %.c %.a,$^) -o $@ $(LIBS)

build/tests/%: tests/unit/%.c $(SIM_SRC) build/libpunchlab.a $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Iharness -Iref -I. $(filter %.c %.a,$^) -o $@ $(LIBS) -lcmocka -lm
build/asan/tests/test_%: tests/unit/test_%.c $(SIM_SRC) build/asan/libpunchlab.a $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Iharness -Iref -I. $(filter %.c %.a,$^) -o $@ $(LIBS) -lcmocka -lm
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

# Binaries made to mislead the test runner: its own tests (test_check_runner) run them.
CHECK_FIX = $(patsubst tests/data/check/%.c,build/asan/tests/check/%,$(wildcard tests/data/check/*.c))
build/asan/tests/check/%: tests/data/check/%.c
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $< -o $@ -lcmocka

# Fuzz targets: the library built once for libFuzzer, each target linked to it.
FUZZ_LIB  = $(filter-out harness/cmd/%,$(LIB_SRC))
FUZZ_OBJ  = $(FUZZ_LIB:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS = $(filter-out -Wno-format-truncation,$(CFLAGS)) -O1 -g -Iharness -Iref -I.
build/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZCC $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
build/fuzz/libpunchlab.a: $(FUZZ_OBJ)
	$(SAY) "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libpunchlab.a $(HDRS) $(wildcard tests/tools/*.c)
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZ  $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< build/fuzz/libpunchlab.a -o $@ $(LIBS)

# Unit tests run plain and sanitized; every fuzz target briefly; lab tests
# (root: namespaces, nftables) run sanitized, $(LAB_JOBS) at a time, each in
# its own uniquely named runs.
check: deps deps-test all $(UNIT) $(ASAN_UNIT) $(LAB) $(TOOLS) $(CHECK_FIX) $(FUZZ)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "$(LAB)" $(LAB_JOBS) "$(FUZZ)"

unit: $(UNIT) $(ASAN_UNIT) $(CHECK_FIX)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "" 1

lab: all $(LAB) $(TOOLS)
	@ci/check.sh "" "$(LAB)" $(LAB_JOBS)

# The main job. Until the traversal matrix exists, it is the NAT models
# measured against their declarations.
run: deps all
	build/punchlab run

fuzz: $(FUZZ)
	@ci/fuzz.sh $(FUZZ_SECONDS) $(FUZZ)

# Break key functions one at a time in a scratch copy: their tests must fail.
mutants:
	@ci/mutants.sh

bench: deps build/punchlab build/punchlab-wg
	@ci/bench-wg.sh

clean:
	rm -rf build
