/* OS helpers for the bizreg command (bin/bizreg, lua/bizreg/cli/): plain Lua has no
 * fsync, isatty, terminal size or exec. core.cli() returns them in a table, so the
 * library's own namespace gains a single name. Nothing here touches libcurl. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "compat.h"

int bz_cli_open(lua_State *L);

static int fail_errno(lua_State *L, const char *what) {
  int e = errno;
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(e));
  return 2;
}

/* fsync(path) -> true | nil, msg. By path (a read-only descriptor is enough on Linux
 * and the BSDs): Lua file handles differ between 5.1/LuaJIT and 5.2+, paths do not.
 * The caller flushes its own handle first; a directory path syncs its entries. */
static int l_fsync(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(L, path);
  while (fsync(fd) != 0) {
    if (errno != EINTR) {
      int e = errno;
      close(fd);
      errno = e;
      return fail_errno(L, path);
    }
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* isatty(fd) -> boolean: draw a progress bar only on a terminal. */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)) == 1);
  return 1;
}

/* columns(fd) -> width of the terminal on fd, or nil. */
static int l_columns(lua_State *L) {
  struct winsize ws;
  if (ioctl((int)luaL_checkinteger(L, 1), TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
  lua_pushinteger(L, (lua_Integer)ws.ws_col);
  return 1;
}

/* exec(argv) -> only returns on failure: nil, msg. Replaces this process (same pid),
 * so `bizreg sandbox` stops with the signal its caller sends to it. */
static int l_exec(lua_State *L) {
  int n, i;
  char **argv;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)bz_rawlen(L, 1);
  luaL_argcheck(L, n >= 1, 1, "argv must not be empty");
  argv = (char **)lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));  /* freed by the GC */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_argerror(L, 1, "argv items must be strings");
    argv[i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1);  /* the string stays referenced by the argv table */
  }
  argv[n] = NULL;
  fflush(NULL);
  execvp(argv[0], argv);
  return fail_errno(L, argv[0]);
}

static const luaL_Reg funcs[] = {
  { "fsync", l_fsync },
  { "isatty", l_isatty },
  { "columns", l_columns },
  { "exec", l_exec },
  { NULL, NULL } };

/* core.cli() -> { fsync, isatty, columns, exec } */
int bz_cli_open(lua_State *L) {
  lua_newtable(L);
  bz_setfuncs(L, funcs, 0);
  return 1;
}
