/* A small host that embeds Lua the way a game or automation tool does: a
 * frame loop at ~60 fps that must never stall, with the Lua side running
 * bizreg jobs through the non-blocking bizreg.poll(0).
 *
 * Two independent lua_States ("A" and "B") run the same script in the same
 * loop, each with its own jobs (and so its own libcurl multi handle).
 *
 *   build/embed-host [--root DIR] [--script FILE] [--frames N] [--max-frame-ms MS]
 *
 *   --root          repository root (default "."): package.path gets DIR/lua,
 *                   package.cpath gets DIR/build/lua5.4 (the running Lua's version)
 *   --script        default DIR/examples/embed/game.lua
 *   --frames        frame cap (default 600, i.e. 10 s); hitting it is a failure
 *   --max-frame-ms  longest allowed Lua work in one frame (default 15)
 *
 * Exit status: 0 when every job ended as the script expected, no frame's Lua
 * work took longer than --max-frame-ms and the frame cap was not hit; 1 otherwise;
 * 2 for bad usage or a state that could not be set up.
 */
#define _GNU_SOURCE /* getrusage(RUSAGE_THREAD): the thread's voluntary context switches */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#define FRAME_NS 16666667L /* 1/60 s */
#define NSTATES 2
#define BUILD_SUBDIR "lua" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR /* e.g. build/lua5.4 */

typedef struct game {
  const char *name;
  lua_State *L;
  int active;     /* frame() still wants to be called */
  int failed;     /* frame() or summary() raised */
  double max_ms;  /* this state's longest frame() */
  long max_frame; /* ... and which frame it was */
  double max_cpu_ms; /* the most CPU time one frame() used: if far below max_ms, the
                        rest of max_ms was the OS running something else, not Lua waiting */
  double max_own_ms; /* the longest time one frame() is answerable for: its wall time if it
                        waited (a voluntary context switch: I/O, a sleep, a lock), else its CPU
                        time (the rest was the OS preempting it for other processes) */
  long jobs, ok, expected, unexpected, images, brands, pending;
} game;

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* How often this thread has given up the CPU to wait (blocking I/O, sleeping, a lock). */
static long voluntary_switches(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return -1;
  return ru.ru_nvcsw;
}

/* Message handler for lua_pcall: the error plus a traceback. */
static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = luaL_tolstring(L, 1, NULL);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function pushed before its nargs arguments, with a traceback on error;
 * on error prints it and returns -1, else leaves nres results on the stack. */
static int pcall_traced(game *g, int nargs, int nres, const char *what) {
  lua_State *L = g->L;
  int base = lua_gettop(L) - nargs; /* the function's index */
  int rc;
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  rc = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  if (rc != LUA_OK) {
    fprintf(stderr, "embed: [%s] %s: %s\n", g->name, what, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

/* package.<field> = prefix .. package.<field> (pkg: index of the package table). */
static void prepend_path(lua_State *L, int pkg, const char *field, const char *prefix) {
  lua_pushstring(L, prefix);
  lua_getfield(L, pkg, field);
  lua_concat(L, 2);
  lua_setfield(L, pkg, field);
}

static int open_game(game *g, const char *root, const char *script) {
  lua_State *L = luaL_newstate();
  int pkg;
  g->L = L;
  if (L == NULL) {
    fprintf(stderr, "embed: [%s] cannot create a lua_State\n", g->name);
    return -1;
  }
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  pkg = lua_gettop(L);
  lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;", root, root);
  prepend_path(L, pkg, "path", lua_tostring(L, -1));
  lua_pushfstring(L, "%s/build/" BUILD_SUBDIR "/?.so;", root);
  prepend_path(L, pkg, "cpath", lua_tostring(L, -1));
  lua_settop(L, pkg - 1);
  lua_pushstring(L, g->name);
  lua_setglobal(L, "STATE_NAME");
  if (luaL_loadfile(L, script) != LUA_OK) {
    fprintf(stderr, "embed: [%s] %s\n", g->name, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  if (pcall_traced(g, 0, 0, script) != 0) return -1;
  g->active = 1;
  return 0;
}

/* One frame of one state: frame(n) -> keep going? */
static void run_frame(game *g, long n) {
  lua_State *L = g->L;
  lua_getglobal(L, "frame");
  lua_pushinteger(L, (lua_Integer)n);
  if (pcall_traced(g, 1, 1, "frame()") != 0) {
    g->failed = 1;
    g->active = 0;
    return;
  }
  if (!lua_toboolean(L, -1)) g->active = 0;
  lua_pop(L, 1);
}

static long int_field(lua_State *L, const char *k) {
  long v;
  lua_getfield(L, -1, k);
  v = (long)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

static void read_summary(game *g) {
  lua_State *L = g->L;
  lua_getglobal(L, "summary");
  if (pcall_traced(g, 0, 1, "summary()") != 0) {
    g->failed = 1;
    return;
  }
  if (!lua_istable(L, -1)) {
    fprintf(stderr, "embed: [%s] summary() did not return a table\n", g->name);
    g->failed = 1;
  } else {
    g->jobs = int_field(L, "jobs");
    g->ok = int_field(L, "ok");
    g->expected = int_field(L, "expected");
    g->unexpected = int_field(L, "unexpected");
    g->images = int_field(L, "images");
    g->brands = int_field(L, "brands");
    g->pending = int_field(L, "pending");
  }
  lua_pop(L, 1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sleeps until the absolute time *next, then moves *next one frame on. If the
 * loop fell more than a frame behind, the schedule restarts from now. */
static void wait_frame(struct timespec *next) {
  struct timespec now;
  next->tv_nsec += FRAME_NS;
  if (next->tv_nsec >= 1000000000L) {
    next->tv_nsec -= 1000000000L;
    next->tv_sec++;
  }
  clock_gettime(CLOCK_MONOTONIC, &now);
  if ((double)(now.tv_sec - next->tv_sec) * 1e9 + (double)(now.tv_nsec - next->tv_nsec) > (double)FRAME_NS) {
    *next = now;
    return;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR) {
  }
}

static void usage(void) {
  fprintf(stderr, "usage: embed-host [--root DIR] [--script FILE] [--frames N] [--max-frame-ms MS]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *root = ".", *script = NULL;
  char script_buf[4096];
  long cap = 600, nframes = 0, n, i;
  double limit_ms = 15, t_start, wall_ms, max_ms = 0, p99_ms = 0;
  double *work;
  game games[NSTATES];
  const char *names[NSTATES] = { "A", "B" };
  int capped = 0, any_active, rc = 0;
  long jobs = 0, images = 0, brands = 0, expected = 0, unexpected = 0, pending = 0;
  struct timespec next;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    if (strcmp(a, "--root") == 0) root = argv[++i];
    else if (strcmp(a, "--script") == 0) script = argv[++i];
    else if (strcmp(a, "--frames") == 0) cap = strtol(argv[++i], NULL, 10);
    else if (strcmp(a, "--max-frame-ms") == 0) limit_ms = strtod(argv[++i], NULL);
    else usage();
  }
  if (cap < 1 || !(limit_ms > 0)) usage();
  if (script == NULL) {
    snprintf(script_buf, sizeof script_buf, "%s/examples/embed/game.lua", root);
    script = script_buf;
  }
  work = (double *)malloc((size_t)cap * sizeof *work);
  if (work == NULL) return 2;

  memset(games, 0, sizeof games);
  for (i = 0; i < NSTATES; i++) {
    games[i].name = names[i];
    if (open_game(&games[i], root, script) != 0) {
      for (; i >= 0; i--)
        if (games[i].L) lua_close(games[i].L);
      free(work);
      return 2;
    }
  }

  /* The frame loop: every active state gets frame(n); the Lua work of the
   * whole frame is timed, and the rest of the 16.7 ms is slept away. */
  t_start = now_ms();
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (n = 1;; n++) {
    double t0 = now_ms();
    for (i = 0; i < NSTATES; i++) {
      if (games[i].active) {
        long v = voluntary_switches();
        double t = now_ms(), c = clock_ms(CLOCK_THREAD_CPUTIME_ID), dt, dc, own;
        run_frame(&games[i], n);
        dt = now_ms() - t;
        dc = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c;
        /* waited (or switches unknown): all of it; else preempted only: its CPU time */
        own = (v < 0 || voluntary_switches() != v) ? dt : dc;
        if (dc > games[i].max_cpu_ms) games[i].max_cpu_ms = dc;
        if (own > games[i].max_own_ms) games[i].max_own_ms = own;
        if (dt > games[i].max_ms) {
          games[i].max_ms = dt;
          games[i].max_frame = n;
        }
      }
    }
    work[nframes++] = now_ms() - t0;
    any_active = 0;
    for (i = 0; i < NSTATES; i++) any_active |= games[i].active;
    if (!any_active) break;
    if (nframes >= cap) {
      capped = 1;
      break;
    }
    wait_frame(&next);
  }
  wall_ms = now_ms() - t_start;

  qsort(work, (size_t)nframes, sizeof *work, cmp_double);
  max_ms = work[nframes - 1];
  p99_ms = work[(long)ceil(0.99 * (double)nframes) - 1]; /* nearest rank */

  for (i = 0; i < NSTATES; i++) {
    game *g = &games[i];
    read_summary(g);
    printf("embed: [%s] %ld jobs: %ld ok, %ld expected error(s), %ld unexpected, %ld still running%s; longest frame() %.2f ms (frame %ld), "
           "most CPU in a frame() %.2f ms, most a frame() answers for %.2f ms\n",
           g->name, g->jobs, g->ok, g->expected, g->unexpected, g->pending, g->failed ? ", LUA ERROR" : "", g->max_ms,
           g->max_frame, g->max_cpu_ms, g->max_own_ms);
    jobs += g->jobs;
    images += g->images;
    brands += g->brands;
    expected += g->expected;
    unexpected += g->unexpected;
    pending += g->pending;
    if (g->failed) rc = 1;
  }
  printf("embed: %d lua_States, %ld jobs (%ld images, %ld brands, %ld expected validation error%s), "
         "%ld frames in %.2f s, frame work max %.2f ms p99 %.2f ms\n",
         NSTATES, jobs, images, brands, expected, expected == 1 ? "" : "s", nframes, wall_ms / 1e3, max_ms, p99_ms);
  fflush(stdout);

  if (unexpected > 0) {
    fprintf(stderr, "embed: FAIL: %ld job(s) failed unexpectedly\n", unexpected);
    rc = 1;
  }
  if (pending > 0) {
    fprintf(stderr, "embed: FAIL: %ld job(s) never finished\n", pending);
    rc = 1;
  }
  /* The limit is on what a frame() is answerable for (max_own_ms): on a busy machine the OS
   * may preempt a frame for longer than the limit without Lua waiting for anything; a frame
   * that waited is counted in full. The wall figures above are information. */
  for (i = 0; i < NSTATES; i++) {
    if (games[i].max_own_ms > limit_ms) {
      fprintf(stderr, "embed: FAIL: [%s] a frame's Lua work took %.2f ms (limit %.2f ms)\n", games[i].name,
              games[i].max_own_ms, limit_ms);
      rc = 1;
    }
  }
  if (capped) {
    fprintf(stderr, "embed: FAIL: frame cap (%ld frames) hit with jobs still running\n", cap);
    rc = 1;
  }

  for (i = 0; i < NSTATES; i++) lua_close(games[i].L);
  free(work);
  return rc;
}
