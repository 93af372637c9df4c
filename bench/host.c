/* A minimal Lua 5.4 interpreter for the callgrind runs of `make bench`: the same Debian Lua
 * (liblua5.4.a) as /usr/bin/lua5.4, linked with its symbol table so that callgrind_annotate can
 * name Lua's own functions (luaV_execute, luaH_next, ...) instead of bare addresses.
 * -Wl,-E exports the Lua API to C modules (bizreg.core, cjson), as lua5.4 does.
 * usage: host script.lua [args...]   (arg table as in lua5.4) */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

int main(int argc, char **argv) {
  lua_State *L;
  int i, rc;
  if (argc < 2) {
    fprintf(stderr, "usage: %s script.lua [args]\n", argv[0]);
    return 2;
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  lua_createtable(L, argc, 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  rc = luaL_loadfile(L, argv[1]);
  if (rc == LUA_OK) {
    for (i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
    rc = lua_pcall(L, argc - 2, 0, 0);
  }
  if (rc != LUA_OK) fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
  lua_close(L);
  return rc == LUA_OK ? 0 : 1;
}
