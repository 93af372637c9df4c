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

.PHONY: all build deps test test-all demo sandbox bench asan valgrind clean

all: build
build: $(OUT)

$(OUT): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared $(shell pkg-config --cflags $(PKG) libcurl) $(SRCS) -o $@ $(shell pkg-config --libs libcurl)

clean:
	rm -rf build tree
