# bizreg: one entry point for build, test, demo, bench, sanitizers.
# LUA picks the interpreter/headers: lua5.4, lua5.3, lua5.2, lua5.1, luajit. Every step that runs
# the library takes it from here. Default: what this release serves (bin/deps lua: lua5.4, or
# lua5.1 where lua-cjson has no 5.4 build, as on Debian 11).
ifeq ($(origin LUA),undefined)
LUA      := $(shell sh bin/deps lua)
endif
export LUA
PKG      := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration -Wmissing-prototypes -std=c99 -D_POSIX_C_SOURCE=200809L
SRCS     := $(wildcard src/*.c)
HDRS     := $(wildcard src/*.h)
OUT      := build/$(LUA)/bizreg/core.so
PORT     ?= 8089
LUAPATH  := ./lua/?.lua;./lua/?/init.lua;;

.PHONY: all build rock deps lint test check test-distros clean-roots test-c demo sandbox bench asan build-asan valgrind clean reliability docs \
        fuzz fuzz-lua fuzz-media fuzz-encode fuzz-multipart fuzz-httpcb fuzz-datetime fuzz-luaresp

all: build
build: $(OUT)

$(OUT): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared $(shell pkg-config --cflags $(PKG) libcurl libcrypto) $(SRCS) -o $@ $(shell pkg-config --libs libcurl libcrypto)

# DEPS: the set bin/deps installs for make test (specs: only what the busted specs need, for
# make test BIZREG_EXTRA="" as spec/checks/distros.sh runs it in its roots)
DEPS ?= test
deps:
	@sh bin/deps $(DEPS)

spec/node/node_modules: spec/node/package.json
	@echo "bizreg: installing the npm test tools (ajv, busboy) into spec/node"
	cd spec/node && npm install --no-audit --no-fund --no-progress --loglevel=error
	@touch $@

# The README's test command: installs what is missing, then the whole suite.
test: deps spec/node/node_modules
	@sh spec/run.sh

# The lua5.4 specs that matter while editing (spec/README.md: no spec/slow, no #slow test);
# ends with "N passed, N failed". `make test` runs everything.
check: spec/node/node_modules
	@sh spec/run.sh --check

# The standing proof of at-most-once: fault matrix (libcurl and nginx), soak, property test.
reliability: deps
	@sh spec/reliability.sh

# C-level tests of media sniffing and the multipart writer, under ASan/UBSan.
test-c:
	@mkdir -p build
	$(CC) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -std=c99 -D_POSIX_C_SOURCE=200809L \
	  -Isrc $(shell pkg-config --cflags lua5.4 libcrypto) spec/media_c_test.c src/media.c src/media_image.c src/media_src.c src/multipart.c src/body.c src/body_lua.c src/buf.c \
	  -o build/media_c_test $(shell pkg-config --libs lua5.4 libcrypto) -lm
	./build/media_c_test

# The HTML API reference (LDoc, config.ld; doc comments in lua/bizreg/) into doc/, not
# committed. Any LDoc warning fails it, and so does markup that did not render (spec/checks/docs_html.sh).
# LDoc runs under lua5.1, where Debian's lua-markdown is.
LDOC_INFO := -e '^reading configuration from ' -e '^found master module' -e '^\*\*\*closing section from master module\*\*\*$$' -e '^output written to '
docs:
	@sh bin/deps docs
	@mkdir -p build
	@rm -rf doc
	@if lua5.1 /usr/bin/ldoc --fatalwarnings . >build/ldoc.log 2>&1 && ! grep -v $(LDOC_INFO) build/ldoc.log | grep -q .; then \
	  echo "doc/index.html: the API reference"; \
	else cat build/ldoc.log; echo "make docs: LDoc warnings (above)"; exit 1; fi
	@sh spec/checks/docs_html.sh

# The README's demo command: sandbox up, examples against it, sandbox down.
# PORT=N: the sandbox's port (default 8089).
demo:
	@sh bin/deps core
	@$(MAKE) -s -q build 2>/dev/null || echo "bizreg: building the C core ($(OUT))"
	@$(MAKE) -s build
	@sh examples/run-demo.sh $(PORT) $(LUA)

# LuaRocks' build of the C core (bizreg-scm-1.rockspec, build type "make"): out of the source
# tree, into build/luarocks/; LuaRocks passes its compiler, flags and include dirs.
ROCK_CFLAGS ?= -O2 -fPIC
LIBFLAG     ?= -shared
rock:
	@mkdir -p build/luarocks/bizreg
	$(CC) $(ROCK_CFLAGS) $(WARN) -I$(LUA_INCDIR) -I$(CURL_INCDIR) -I$(CRYPTO_INCDIR) $(SRCS) $(LIBFLAG) -o build/luarocks/bizreg/core.so \
	  -L$(CURL_LIBDIR) -lcurl -L$(CRYPTO_LIBDIR) -lcrypto

# The emulator of both APIs from this checkout (sandbox/; its own rock: bizreg-sandbox-scm-1.rockspec).
sandbox:
	@sh bin/deps core
	bin/bizreg-sandbox --port $(PORT)

# Prints the benchmark table and writes BENCHMARKS.md, its one home (lua5.4; about a minute).
bench:
	@sh bin/deps test
	@$(MAKE) -s LUA=lua5.4 build
	@sh bench/run.sh

# Sanitizer and valgrind runs of the lua5.4 suite (see toolchain notes: no-op dlclose shim).
build/nodlclose.so:
	@mkdir -p build
	printf 'int dlclose(void *h){(void)h;return 0;}\n' | $(CC) -shared -fPIC -x c - -o $@

ASAN_SO  := build/asan/bizreg/core.so
ASAN_ENV := env LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $(CURDIR)/build/nodlclose.so" \
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

build-asan: $(ASAN_SO) build/nodlclose.so
$(ASAN_SO): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer $(WARN) -fPIC -shared \
	  $(shell pkg-config --cflags lua5.4 libcurl libcrypto) $(SRCS) -o $@ $(shell pkg-config --libs libcurl libcrypto)

# The lua5.4 suite under ASan+UBSan (the test command runs it too, as the "asan" parts, one
# per ASAN_SPECS folder set).
ASAN_SPECS ?= spec
asan: build-asan
	$(ASAN_ENV) lua5.4 /usr/bin/busted $(BUSTED_ARGS) --cpath="./build/asan/?.so" $(ASAN_SPECS)

valgrind: build build/nodlclose.so
	env LD_PRELOAD="$(CURDIR)/build/nodlclose.so" valgrind -q --error-exitcode=9 --leak-check=full \
	  --errors-for-leak-kinds=definite lua5.4 /usr/bin/busted --cpath="./build/lua5.4/?.so" spec

# libFuzzer harnesses (clang only). Each fuzz-NAME target builds build/fuzz/NAME_fuzz, runs the
# inputs of fuzz/regress/NAME/ (unfixed findings: they fail, and are reported), then fuzzes
# FUZZ_SECONDS from fuzz/corpus/NAME/ (see fuzz/run.sh). `make fuzz` runs them all, one at a time.
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := media encode multipart httpcb datetime luaresp
# "=" (not ":="): pkg-config runs only when a fuzz target is built, after bin/deps installed it
FUZZ_CC       = clang -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Isrc $(shell pkg-config --cflags lua5.4 libcurl libcrypto)
FUZZ_LIBS     = $(shell pkg-config --libs lua5.4 libcurl libcrypto) -lm

# the transport but the two files httpcb_fuzz.c includes (callbacks.c, response.c)
TRANSPORT_REST := src/easy.c src/request.c src/curlerr.c src/multi.c src/body.c src/body_lua.c src/buf.c
build/fuzz/media_fuzz: fuzz/media_fuzz.c src/media.c src/media_image.c src/media_src.c src/media.h src/media_src.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/media_fuzz.c src/media.c src/media_image.c src/media_src.c -o $@
build/fuzz/encode_fuzz: fuzz/encode_fuzz.c $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/encode_fuzz.c $(SRCS) -o $@ $(FUZZ_LIBS)
build/fuzz/multipart_fuzz: fuzz/multipart_fuzz.c src/multipart.c src/body.c src/buf.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/multipart_fuzz.c src/multipart.c src/body.c src/buf.c -o $@ $(FUZZ_LIBS)
build/fuzz/httpcb_fuzz: fuzz/httpcb_fuzz.c src/callbacks.c src/response.c $(TRANSPORT_REST) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/httpcb_fuzz.c $(TRANSPORT_REST) -o $@ $(FUZZ_LIBS)
build/fuzz/datetime_fuzz: fuzz/datetime_fuzz.c src/rules.c src/rules.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/datetime_fuzz.c src/rules.c -o $@ -lm
build/fuzz/luaresp_fuzz: fuzz/luaresp_fuzz.c $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/luaresp_fuzz.c $(SRCS) -o $@ $(FUZZ_LIBS)

fuzz: $(foreach n,$(FUZZ_NAMES),build/fuzz/$(n)_fuzz)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)
# The Lua-level fuzzers (spec/property/fuzz_lua.lua; spec/slow/fuzz_lua_spec.lua runs 300 cases each):
# FUZZ_LUA_COUNT cases per target, a new seed each run (printed; FUZZ_LUA_SEED=S replays one);
# LUA=luajit etc. runs them on another interpreter.
FUZZ_LUA_COUNT ?= 20000
fuzz-lua: build
	@$(LUA) spec/property/fuzz_lua.lua --count $(FUZZ_LUA_COUNT) --cpath './build/$(LUA)/?.so' $(if $(FUZZ_LUA_SEED),--seed $(FUZZ_LUA_SEED))
fuzz-media: build/fuzz/media_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) media
fuzz-encode: build/fuzz/encode_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) encode
fuzz-multipart: build/fuzz/multipart_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) multipart
fuzz-httpcb: build/fuzz/httpcb_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) httpcb
fuzz-datetime: build/fuzz/datetime_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) datetime
fuzz-luaresp: build/fuzz/luaresp_fuzz
	@sh fuzz/run.sh $(FUZZ_SECONDS) luaresp

# The README's two commands (make demo, make test) inside minimal Debian 11 and 13 roots (kept
# under /var/tmp/bizreg-roots; see spec/checks/distros.sh).
test-distros:
	@sh spec/checks/distros.sh

# Removes those roots (about 1.7 GB; BIZREG_ROOTS names another place). make test makes them again.
clean-roots:
	@sh spec/checks/distros.sh --clean

# luacheck (.luacheckrc) over every Lua file, cppcheck over the C core: any finding fails.
lint:
	@sh bin/deps lint
	luacheck --no-color -q lua bin/bizreg sandbox spec bench fuzz examples
	cppcheck --quiet --enable=warning,performance,portability --std=c99 --inline-suppr --error-exitcode=1 -I src src/

clean:
	rm -rf build tree
