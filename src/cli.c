/* OS helpers for the bizreg command (bin/bizreg, lua/bizreg/cli/): plain Lua has no
 * fsync, isatty, terminal size or exec. core.cli() returns them in a table, so the
 * library's own namespace gains a single name. Nothing here touches libcurl. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/* ---- the journal: one descriptor, owned by one run ----------------------------
 * journal(path, fresh) -> handle | nil, msg, errno name. fresh: the file is created here
 * (O_EXCL: of two runs starting together exactly one creates it, no check-then-open), mode
 * 0600 (it names the operator's files and batches). Otherwise it must exist. The handle
 * holds an exclusive flock for as long as it is open: flock, not fcntl locks, because a
 * POSIX lock is dropped when the process closes ANY descriptor of the file (io.open + close
 * of the same journal to read it would release it). The kernel drops it when the process
 * dies, so a lock is never stale. */
#define JOURNAL_MT "bizreg.cli.journal"

typedef struct { int fd; } journal_t;

static journal_t *check_journal(lua_State *L) {
  journal_t *j = (journal_t *)luaL_checkudata(L, 1, JOURNAL_MT);
  if (j->fd < 0) luaL_argerror(L, 1, "the journal is closed");
  return j;
}

static const char *errno_name(int e) {
  switch (e) {
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    case EACCES: return "EACCES";
    default: return "EOTHER";
  }
}

static int fail_errno3(lua_State *L, const char *what) {
  int e = errno;
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(e));
  lua_pushstring(L, errno_name(e));
  return 3;
}

static int l_journal(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fresh = lua_toboolean(L, 2);
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (fresh ? (O_CREAT | O_EXCL) : 0);
  journal_t *j = (journal_t *)bz_newuserdata(L, sizeof(journal_t));
  j->fd = -1;
  luaL_getmetatable(L, JOURNAL_MT);
  lua_setmetatable(L, -2);
  j->fd = open(path, flags, S_IRUSR | S_IWUSR);
  if (j->fd < 0) return fail_errno3(L, path);
  return 1;
}

/* h:lock() -> true | false (another process holds it) | nil, msg. Never waits. */
static int l_journal_lock(lua_State *L) {
  journal_t *j = check_journal(L);
  while (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) { lua_pushboolean(L, 0); return 1; }
    return fail_errno(L, "flock");
  }
  {
    /* the run that held it may have removed the file (nothing to resume) before letting go:
     * a lock on a removed file guards nothing, a new run may be creating a new one */
    struct stat st;
    if (fstat(j->fd, &st) != 0) return fail_errno(L, "fstat");
    if (st.st_nlink == 0) {
      flock(j->fd, LOCK_UN);
      errno = ENOENT;
      return fail_errno(L, "the journal was removed meanwhile");
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* h:append(s [, sync]) -> true | nil, msg, errno name. Writes all of s, then (unless sync is
 * false) fsyncs the file: when it returns true the record is on disk. Without the fsync it is
 * in the kernel: it survives the process being killed, and the next fsync (or h:sync())
 * makes it durable. A short write (a full disk) is an error: the caller stops, and the torn
 * record it may leave is skipped by the reader. */
static int l_journal_append(lua_State *L) {
  journal_t *j = check_journal(L);
  size_t len, done = 0;
  const char *s = luaL_checklstring(L, 2, &len);
  int sync = lua_isnoneornil(L, 3) || lua_toboolean(L, 3);
  while (done < len) {
    ssize_t n = write(j->fd, s + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno3(L, "write");
    }
    if (n == 0) { errno = EIO; return fail_errno3(L, "write"); }
    done += (size_t)n;
  }
  while (sync && fsync(j->fd) != 0) {
    if (errno != EINTR) return fail_errno3(L, "fsync");
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* h:sync() -> true | nil, msg, errno name: what was appended is on disk. */
static int l_journal_sync(lua_State *L) {
  journal_t *j = check_journal(L);
  while (fsync(j->fd) != 0) {
    if (errno != EINTR) return fail_errno3(L, "fsync");
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* h:close(): idempotent (also __gc); closing drops the lock. */
static int l_journal_close(lua_State *L) {
  journal_t *j = (journal_t *)luaL_checkudata(L, 1, JOURNAL_MT);
  if (j->fd >= 0) { close(j->fd); j->fd = -1; }
  return 0;
}

static const luaL_Reg journal_methods[] = {
  { "lock", l_journal_lock },
  { "append", l_journal_append },
  { "sync", l_journal_sync },
  { "close", l_journal_close },
  { NULL, NULL } };

/* ---- SIGTERM ------------------------------------------------------------------
 * The stand-alone interpreter turns SIGINT into a Lua error ("interrupted!") at the next
 * instruction; SIGTERM would kill the process mid-write. on_term() makes SIGTERM take the
 * same path (the handler re-raises SIGINT, whose handler is async-signal-safe) and
 * remembers it, so the command can exit 143 after closing its journal. */
static volatile sig_atomic_t term_seen = 0;

static void on_sigterm(int sig) {
  (void)sig;
  term_seen = 1;
  raise(SIGINT);
}

static int l_on_term(lua_State *L) {
  signal(SIGTERM, on_sigterm);
  (void)L;
  return 0;
}

/* terminated() -> true once a SIGTERM arrived. */
static int l_terminated(lua_State *L) {
  lua_pushboolean(L, term_seen != 0);
  return 1;
}

/* getpid() -> this process's id (the journal names its owner). */
static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static const luaL_Reg funcs[] = {
  { "journal", l_journal },
  { "getpid", l_getpid },
  { "on_term", l_on_term },
  { "terminated", l_terminated },
  { "fsync", l_fsync },
  { "isatty", l_isatty },
  { "columns", l_columns },
  { "exec", l_exec },
  { NULL, NULL } };

/* core.cli() -> { journal, getpid, on_term, terminated, fsync, isatty, columns, exec } */
int bz_cli_open(lua_State *L) {
  if (luaL_newmetatable(L, JOURNAL_MT)) {
    lua_newtable(L);
    bz_setfuncs(L, journal_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_journal_close);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  bz_setfuncs(L, funcs, 0);
  return 1;
}
