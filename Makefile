# bizreg: one entry point for build, test, demo, bench, sanitizers.
# LUA picks the interpreter/headers: lua5.4 (default), lua5.3, lua5.2, lua5.1, luajit.
LUA      ?= lua5.4
PKG      := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter -std=c99 -D_POSIX_C_SOURCE=200809L
SRCS     := $(wildcard src/*.c)
HDRS     := $(wildcard src/*.h)
OUT      := build/$(LUA)/bizreg/core.so
PORT     ?= 8089
LUAPATH  := ./lua/?.lua;./lua/?/init.lua;;

.PHONY: all build deps test test-c demo sandbox bench asan valgrind fuzz fuzz-media fuzz-encode fuzz-multipart fuzz-httpcb \
        fuzz-datetime fuzz-luaresp clean

all: build
build: $(OUT)

$(OUT): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared $(shell pkg-config --cflags $(PKG) libcurl) $(SRCS) -o $@ $(shell pkg-config --libs libcurl)

deps:
	@sh bin/deps test

spec/node/node_modules: spec/node/package.json
	cd spec/node && npm install --no-audit --no-fund --loglevel=error
	@touch $@

# The README's test command: installs what is missing, then the whole suite.
test: deps spec/node/node_modules
	@sh spec/run.sh

# C-level tests of media sniffing and the multipart writer, under ASan/UBSan.
test-c:
	@mkdir -p build
	$(CC) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -std=c99 -D_POSIX_C_SOURCE=200809L \
	  -Isrc $(shell pkg-config --cflags lua5.4) spec/media_c_test.c src/media.c src/multipart.c src/body.c src/buf.c \
	  -o build/media_c_test $(shell pkg-config --libs lua5.4) -lm
	./build/media_c_test

# The README's demo command: sandbox up, examples against it, sandbox down.
demo:
	@sh bin/deps core
	@$(MAKE) -s build
	@sh examples/run-demo.sh $(PORT)

sandbox:
	@sh bin/deps core
	bin/bizreg-sandbox --port $(PORT)

bench: build
	@sh bin/deps test
	@sh bench/run.sh

# Sanitizer and valgrind runs of the lua5.4 suite (see toolchain notes: no-op dlclose shim).
build/nodlclose.so:
	@mkdir -p build
	printf 'int dlclose(void *h){(void)h;return 0;}\n' | $(CC) -shared -fPIC -x c - -o $@

asan: build/nodlclose.so
	@mkdir -p build/asan/bizreg
	$(CC) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer $(WARN) -fPIC -shared \
	  $(shell pkg-config --cflags lua5.4 libcurl) $(SRCS) -o build/asan/bizreg/core.so $(shell pkg-config --libs libcurl)
	env LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $(CURDIR)/build/nodlclose.so" ASAN_OPTIONS=detect_leaks=1 \
	  lua5.4 /usr/bin/busted --cpath="./build/asan/?.so" spec

valgrind: build build/nodlclose.so
	env LD_PRELOAD="$(CURDIR)/build/nodlclose.so" valgrind -q --error-exitcode=9 --leak-check=full \
	  --errors-for-leak-kinds=definite lua5.4 /usr/bin/busted --cpath="./build/lua5.4/?.so" spec

# libFuzzer harnesses (clang only). Each fuzz-NAME target builds build/fuzz/NAME_fuzz, runs the
# inputs of fuzz/regress/NAME/ (unfixed findings: they fail, and are reported), then fuzzes
# FUZZ_SECONDS from fuzz/corpus/NAME/ (see fuzz/run.sh). `make fuzz` runs them all, one at a time.
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := media encode multipart httpcb datetime luaresp
FUZZ_CC      := clang -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Isrc $(shell pkg-config --cflags lua5.4 libcurl)
FUZZ_LIBS    := $(shell pkg-config --libs lua5.4 libcurl) -lm

build/fuzz/media_fuzz: fuzz/media_fuzz.c src/media.c src/media.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/media_fuzz.c src/media.c -o $@
build/fuzz/encode_fuzz: fuzz/encode_fuzz.c $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/encode_fuzz.c $(SRCS) -o $@ $(FUZZ_LIBS)
build/fuzz/multipart_fuzz: fuzz/multipart_fuzz.c src/multipart.c src/body.c src/buf.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/multipart_fuzz.c src/multipart.c src/body.c src/buf.c -o $@ $(FUZZ_LIBS)
build/fuzz/httpcb_fuzz: fuzz/httpcb_fuzz.c src/http.c src/multi.c src/body.c src/buf.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/httpcb_fuzz.c src/multi.c src/body.c src/buf.c -o $@ $(FUZZ_LIBS)
build/fuzz/datetime_fuzz: fuzz/datetime_fuzz.c src/rules.c src/rules.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/datetime_fuzz.c src/rules.c -o $@ -lm
build/fuzz/luaresp_fuzz: fuzz/luaresp_fuzz.c $(SRCS) $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) fuzz/luaresp_fuzz.c $(SRCS) -o $@ $(FUZZ_LIBS)

fuzz: $(foreach n,$(FUZZ_NAMES),build/fuzz/$(n)_fuzz)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)
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

clean:
	rm -rf build tree
