# punchlab: `make` builds, `make check` runs every test (also under ASan+UBSan),
# `make run` runs the main job, `make fuzz` fuzzes every parser, `make bench`.
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-format-truncation
LIBS      = -lnftnl -lmnl -lsodium -lpcap -lnatpmp -lminiupnpc   # NAT-PMP, UPnP: asking routers for port mappings (lib/portmap)
HARNESS_LIBS = $(LIBS) -ljson-c -lm   # json-c: results.json read back (report, --baseline)
SANFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 20
# Build with every core (the suite's own parallelism is LAB_JOBS); the
# Debian packages are in place before the first compiler runs (| deps).
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
LAB_JOBS ?= 3   # lab binaries at a time: most of their time is waiting (timeouts, silences)
V ?= 0
ifeq ($(V),0)
Q = @
SAY = @echo
else
Q =
SAY = @true
endif

# Three parts: lib/ (the base both sides share), ref/ (the mesh: the
# system under test) and harness/ (the lab: its judge). ref/ and harness/
# link lib/ and never each other (ci/layout.sh holds it). The mesh's cores
# (the introducer's and the agent's handlers) are in ref's archive, so the
# unit tests and fuzzers drive them; their programs add a main and a daemon
# (sockets, loop) each.
MESH_CORE = ref/introducer/introducer.c ref/introducer/members.c ref/agent/agent.c ref/agent/punch.c ref/agent/portmap.c ref/agent/status.c
BASE_SRC  = $(wildcard lib/*/*.c)
REF_SRC   = $(wildcard ref/wg/*.c ref/mesh/*.c) $(MESH_CORE)
HARNESS_SRC = $(filter-out harness/main.c,$(wildcard harness/*/*.c))
LIB_SRC   = $(BASE_SRC) $(REF_SRC) $(HARNESS_SRC)
HDRS      = $(wildcard lib/*/*.h harness/*/*.h ref/*/*.h tests/data/wg/*.h tests/sim/*.h tests/unit/*.h)
TEST_INC  = -Ilib -Iharness -Iref -I.
SIM_SRC   = tests/sim/sim.c   # the simulated internet the mesh's cores meet in (unit tests)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
LAB_SRC   = $(wildcard tests/lab/lab_*.c)
SOAK_SRC  = $(wildcard tests/lab/soak_*.c)   # lab tests too long for make check: make soak
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)

# Two builds of everything: plain in build/, sanitized in build/asan/.
UNIT      = $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_UNIT = $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
LAB       = $(LAB_SRC:tests/lab/%.c=build/asan/tests/%)
SOAK      = $(SOAK_SRC:tests/lab/%.c=build/asan/tests/%)
FUZZ      = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all mesh deps deps-test check unit lab soak stress run fuzz bench mutants install clean FORCE
MESH_BIN  = punchlab-introducer punchlab-agent punchlab-wg
# Programs the shipped tools under test need (tools/ice/).
TOOL_BIN  = build/punchlab-ice build/asan/punchlab-ice
all: deps build/punchlab build/asan/punchlab $(MESH_BIN:%=build/%) $(MESH_BIN:%=build/asan/%) $(TOOL_BIN)

# The mesh alone: its three programs from ref/ and lib/, nothing of the lab.
mesh: $(MESH_BIN:%=build/%)

deps:
	@ci/deps.sh
# What only the tests need: a browser to render the run report, and the
# third-party tools punchlab run drives; man and systemd-analyze check what
# make install puts in place.
deps-test: deps
	@ci/deps.sh chromium nebula tinc n2n coturn man-db systemd conntrack
	@ci/npm.sh

build/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
build/asan/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

# An archive per part and build (plain in build/, sanitized in build/asan/),
# and one of all three that the tests link.
define archive
$(1): $(2)
	$$(SAY) "  AR    $$@"
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach b,build build/asan,\
  $(eval $(call archive,$(b)/libbase.a,$(BASE_SRC:%.c=$(b)/obj/%.o)))\
  $(eval $(call archive,$(b)/libref.a,$(REF_SRC:%.c=$(b)/obj/%.o)))\
  $(eval $(call archive,$(b)/libharness.a,$(HARNESS_SRC:%.c=$(b)/obj/%.o)))\
  $(eval $(call archive,$(b)/libpunchlab.a,$(LIB_SRC:%.c=$(b)/obj/%.o))))

# Programs: punchlab is the harness and the base; the mesh's three are ref
# and the base.
build/punchlab: harness/main.c build/libharness.a build/libbase.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(HARNESS_LIBS)
build/asan/punchlab: harness/main.c build/asan/libharness.a build/asan/libbase.a
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $^ -o $@ $(HARNESS_LIBS)

# Programs the shipped tools under test need (tools/NAME/): the ICE peer
# over libnice. pkg-config runs when the recipe does, after deps.
NICE_CFLAGS = $(shell pkg-config --cflags nice)
NICE_LIBS   = $(shell pkg-config --libs nice)
build/punchlab-ice: tools/ice/ice-peer.c | deps
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(NICE_CFLAGS) $< -o $@ $(NICE_LIBS)
build/asan/punchlab-ice: tools/ice/ice-peer.c | deps
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(NICE_CFLAGS) $< -o $@ $(NICE_LIBS)

WG_SRC = ref/wg/tool/main.c
INTRODUCER_SRC = ref/introducer/main.c ref/introducer/daemon.c
AGENT_SRC = ref/agent/main.c ref/agent/daemon.c
define mesh_program
build/$(1): $(2) build/libref.a build/libbase.a $$(HDRS)
	$$(SAY) "  CC    $$@"
	$$(Q)$$(CC) $$(CFLAGS) -Iref $$(filter %.c %.a,$$^) -o $$@ $$(LIBS)
build/asan/$(1): $(2) build/asan/libref.a build/asan/libbase.a $$(HDRS)
	$$(SAY) "  CC    $$@"
	$$(Q)$$(CC) $$(CFLAGS) $$(SANFLAGS) -Iref $$(filter %.c %.a,$$^) -o $$@ $$(LIBS)
endef
$(eval $(call mesh_program,punchlab-wg,$(WG_SRC)))
$(eval $(call mesh_program,punchlab-introducer,$(INTRODUCER_SRC)))
$(eval $(call mesh_program,punchlab-agent,$(AGENT_SRC)))

build/tests/%: tests/unit/%.c $(SIM_SRC) build/libpunchlab.a $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(filter %.c %.a,$^) -o $@ $(HARNESS_LIBS) -lcmocka
build/asan/tests/test_%: tests/unit/test_%.c $(SIM_SRC) build/asan/libpunchlab.a $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(TEST_INC) $(filter %.c %.a,$^) -o $@ $(HARNESS_LIBS) -lcmocka
# The workflow's test reads YAML as GitHub does: with libyaml.
build/tests/test_workflow build/asan/tests/test_workflow: HARNESS_LIBS += -lyaml
build/asan/tests/lab_%: tests/lab/lab_%.c $(wildcard tests/lab/*.h) build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(TEST_INC) $(filter %.c %.a,$^) -o $@ $(HARNESS_LIBS) -lcmocka
build/asan/tests/soak_%: tests/lab/soak_%.c $(wildcard tests/lab/*.h) build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(TEST_INC) $(filter %.c %.a,$^) -o $@ $(HARNESS_LIBS) -lcmocka

# Test equipment: programs the lab tests run (a userspace NAT for conform).
TOOLS     = build/asan/tests/toynat build/asan/tests/introducer-load
build/asan/tests/toynat: tests/tools/toynat.c build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(TEST_INC) $^ -o $@ $(HARNESS_LIBS)

# make bench's load generator for the introducer (many agents, many sources).
build/tests/introducer-load: tests/tools/introducer-load.c build/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $^ -o $@ $(HARNESS_LIBS)
build/asan/tests/introducer-load: tests/tools/introducer-load.c build/asan/libpunchlab.a
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $(TEST_INC) $^ -o $@ $(HARNESS_LIBS)

# Binaries made to mislead the test runner: its own tests (test_check_runner) run them.
CHECK_FIX = $(patsubst tests/data/check/%.c,build/asan/tests/check/%,$(wildcard tests/data/check/*.c))
build/asan/tests/check/%: tests/data/check/%.c | deps
	@mkdir -p $(dir $@)
	$(SAY) "  CC    $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) $< -o $@ -lcmocka

# Fuzz targets: the library built once for libFuzzer, each target linked to it.
FUZZ_LIB  = $(filter-out harness/cmd/%,$(LIB_SRC))
FUZZ_OBJ  = $(FUZZ_LIB:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS = $(filter-out -Wno-format-truncation,$(CFLAGS)) -O1 -g $(TEST_INC)
build/fuzz/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZCC $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
build/fuzz/libpunchlab.a: $(FUZZ_OBJ)
	$(SAY) "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^
# The receive paths' fuzzer runs the mesh's cores in the simulated internet.
build/fuzz/fuzz_mesh_receive: tests/fuzz/fuzz_mesh_receive.c $(SIM_SRC) build/fuzz/libpunchlab.a $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZ  $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(SIM_SRC) build/fuzz/libpunchlab.a -o $@ $(HARNESS_LIBS)
build/fuzz/%: tests/fuzz/%.c build/fuzz/libpunchlab.a $(HDRS) $(wildcard tests/tools/*.c)
	@mkdir -p $(dir $@)
	$(SAY) "  FUZZ  $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< build/fuzz/libpunchlab.a -o $@ $(HARNESS_LIBS)

# Unit tests run plain and sanitized; every fuzz target briefly; lab tests
# (root: namespaces, nftables) run sanitized, $(LAB_JOBS) at a time, each in
# its own uniquely named runs.
# The soak tests are built (so they cannot rot) but not run.
check: deps deps-test all $(UNIT) $(ASAN_UNIT) $(LAB) $(SOAK) $(TOOLS) $(CHECK_FIX) $(FUZZ)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "$(LAB)" $(LAB_JOBS) "$(FUZZ)" tree

unit: $(UNIT) $(ASAN_UNIT) $(CHECK_FIX)
	@ci/check.sh "$(UNIT) $(ASAN_UNIT)" "" 1 "" tree

lab: all $(LAB) $(TOOLS)
	@ci/check.sh "" "$(LAB)" $(LAB_JOBS)

# What a tunnel must survive that make check has no time for: the full
# traversal matrix against the reference results, every lifecycle
# scenario, the conformance of every shipped model (tens of minutes).
soak: deps deps-test all $(SOAK) $(TOOLS)
	@ci/check.sh "" "$(SOAK)" $(LAB_JOBS)

# The lab suite STRESS_RUNS times in a row (default 5) with one CPU kept
# busy by stress-ng: a test that leans on timing fails here first.
STRESS_RUNS ?= 5
stress: deps deps-test all $(LAB) $(TOOLS)
	@ci/stress.sh $(STRESS_RUNS) "$(LAB)" $(LAB_JOBS)

# The main job: the traversal matrix with the reference mesh (punchlab run).
run: deps all
	build/punchlab run

fuzz: $(FUZZ)
	@ci/fuzz.sh $(FUZZ_SECONDS) $(FUZZ)

# Break key functions one at a time in a scratch copy: their tests must fail.
mutants:
	@ci/mutants.sh

# make bench [BASELINE=results/bench]: WireGuard, the introducer under
# load, then time to direct and the lab's own times; exit 1 when a figure
# got 20 % worse than the folder's wg.json, introducer.json and
# traversal.json (BASELINE=FILE.json: WireGuard's alone, as before).
bench: deps build/punchlab build/punchlab-wg build/punchlab-introducer build/punchlab-agent build/tests/introducer-load
	@ci/bench-wg.sh $(if $(BASELINE),--baseline $(if $(filter %.json,$(BASELINE)),$(BASELINE),$(BASELINE)/wg.json))
	@ci/bench-introducer.sh $(if $(filter-out %.json,$(BASELINE)),--baseline $(BASELINE)/introducer.json)
	@ci/bench-traversal.sh $(if $(filter-out %.json,$(BASELINE)),--baseline $(BASELINE)/traversal.json)

clean:
	rm -rf build

# make install [PREFIX=/usr/local] [DESTDIR=]: the four programs, their
# man pages, the shipped models, topologies and tools (adapters), systemd units for the
# introducer and the agent, and example configurations in /etc/punchlab
# (an existing one is never overwritten).
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/punchlab
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
build/obj/lib/util/paths.o build/asan/obj/lib/util/paths.o: CFLAGS += -DPL_DATADIR='"$(DATADIR)"'
# punchlab finds the installed models there: rebuild it when PREFIX changes.
build/obj/lib/util/paths.o build/asan/obj/lib/util/paths.o: build/datadir
build/datadir: FORCE
	@mkdir -p build && echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
FORCE:
install: build/punchlab $(MESH_BIN:%=build/%) build/punchlab-ice
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR)/nat-models $(DESTDIR)$(DATADIR)/topologies $(DESTDIR)$(DATADIR)/tools $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/punchlab
	install -m 755 build/punchlab $(MESH_BIN:%=build/%) build/punchlab-ice $(DESTDIR)$(BINDIR)
	install -m 644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8
	install -m 644 nat-models/*.nat $(DESTDIR)$(DATADIR)/nat-models
	install -m 644 topologies/*.topo $(DESTDIR)$(DATADIR)/topologies
	install -m 644 tools/common.sh $(DESTDIR)$(DATADIR)/tools
	for t in tools/*/adapter; do \
		install -d $(DESTDIR)$(DATADIR)/$$(dirname $$t) && install -m 755 $$t $(DESTDIR)$(DATADIR)/$$t || exit 1; \
	done
	for u in dist/systemd/*.service; do \
		sed 's|@BINDIR@|$(BINDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u) && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	for c in dist/etc/*.conf; do \
		t=$(DESTDIR)$(SYSCONFDIR)/punchlab/$$(basename $$c); \
		[ -e $$t ] || install -m 600 $$c $$t || exit 1; \
	done
