rockspec_format = "3.0"
package = "bizreg"
version = "scm-1"
source = { url = "git+https://github.com/bizreg/bizreg.git" }
description = {
  summary = "Validated, safe calls to the KOS clinic CRM and RCS Biz Center APIs",
  detailed = [[
    A C core (libcurl) validates Lua tables against declarative schemas, writes the JSON
    and multipart bodies in one walk, and sends them over a keep-alive connection, with
    structured errors, token flows, a non-blocking multi-interface mode and an nginx
    cosocket transport. The local emulator of both APIs is a separate rock (bizreg-sandbox).
    Needs Lua 5.1-5.4 or LuaJIT, and libcurl 7.68 or newer (headers: libcurl4-openssl-dev).
  ]],
  license = "MIT",
}
dependencies = { "lua >= 5.1", "lua-cjson" }  -- and libcurl >= 7.68, OpenSSL's libcrypto (external, below)
external_dependencies = {
  CURL = { header = "curl/curl.h", library = "curl" },
  CRYPTO = { header = "openssl/evp.h", library = "crypto" },  -- SHA-256 (EVP), libssl-dev
}
-- The C core is built by the Makefile's `rock` target into build/luarocks/ (type "builtin" would
-- leave src/*.o and bizreg/core.so in the checkout); LuaRocks then installs the files below.
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CC = "$(CC)", ROCK_CFLAGS = "$(CFLAGS)", LIBFLAG = "$(LIBFLAG)", LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)", CURL_LIBDIR = "$(CURL_LIBDIR)",
    CRYPTO_INCDIR = "$(CRYPTO_INCDIR)", CRYPTO_LIBDIR = "$(CRYPTO_LIBDIR)",
  },
  install_pass = false,
  install = {
    lib = { ["bizreg.core"] = "build/luarocks/bizreg/core.so" },
    lua = {
      ["bizreg.auth"] = "lua/bizreg/auth.lua",
      ["bizreg.client"] = "lua/bizreg/client.lua",
      ["bizreg.options"] = "lua/bizreg/options.lua",
      ["bizreg.cli"] = "lua/bizreg/cli/init.lua",
      ["bizreg.cli.args"] = "lua/bizreg/cli/args.lua",
      ["bizreg.cli.brands"] = "lua/bizreg/cli/brands.lua",
      ["bizreg.cli.batches"] = "lua/bizreg/cli/batches.lua",
      ["bizreg.cli.brand"] = "lua/bizreg/cli/brand.lua",
      ["bizreg.cli.chatbots"] = "lua/bizreg/cli/chatbots.lua",
      ["bizreg.cli.dryrun"] = "lua/bizreg/cli/dryrun.lua",
      ["bizreg.cli.env"] = "lua/bizreg/cli/env.lua",
      ["bizreg.cli.fmt"] = "lua/bizreg/cli/fmt.lua",
      ["bizreg.cli.images"] = "lua/bizreg/cli/images.lua",
      ["bizreg.cli.journal"] = "lua/bizreg/cli/journal.lua",
      ["bizreg.cli.json"] = "lua/bizreg/cli/json.lua",
      ["bizreg.cli.load"] = "lua/bizreg/cli/load.lua",
      ["bizreg.cli.multipart"] = "lua/bizreg/cli/multipart.lua",
      ["bizreg.cli.outcome"] = "lua/bizreg/cli/outcome.lua",
      ["bizreg.cli.sandbox"] = "lua/bizreg/cli/sandbox.lua",
      ["bizreg.cli.text"] = "lua/bizreg/cli/text.lua",
      ["bizreg.cli.ui"] = "lua/bizreg/cli/ui.lua",
      ["bizreg.cli.visitors"] = "lua/bizreg/cli/visitors.lua",
      ["bizreg.cli.webhook"] = "lua/bizreg/cli/webhook.lua",
      ["bizreg.errors"] = "lua/bizreg/errors.lua",
      ["bizreg.events"] = "lua/bizreg/events.lua",
      ["bizreg.fields"] = "lua/bizreg/fields.lua",
      ["bizreg"] = "lua/bizreg/init.lua",
      ["bizreg.jobs"] = "lua/bizreg/jobs.lua",
      ["bizreg.kos"] = "lua/bizreg/kos.lua",
      ["bizreg.kos_search"] = "lua/bizreg/kos_search.lua",
      ["bizreg.prepared"] = "lua/bizreg/prepared.lua",
      ["bizreg.outcome"] = "lua/bizreg/outcome.lua",
      ["bizreg.rcs"] = "lua/bizreg/rcs.lua",
      ["bizreg.rcs_brands"] = "lua/bizreg/rcs_brands.lua",
      ["bizreg.rcs_categories"] = "lua/bizreg/rcs_categories.lua",
      ["bizreg.rcs_chatbots"] = "lua/bizreg/rcs_chatbots.lua",
      ["bizreg.rcs_common"] = "lua/bizreg/rcs_common.lua",
      ["bizreg.rcs_envelope"] = "lua/bizreg/rcs_envelope.lua",
      ["bizreg.rcs_wait"] = "lua/bizreg/rcs_wait.lua",
      ["bizreg.rcs_walk"] = "lua/bizreg/rcs_walk.lua",
      ["bizreg.token_store"] = "lua/bizreg/token_store.lua",
      ["bizreg.transport.http1"] = "lua/bizreg/transport/http1.lua",
      ["bizreg.transport.ngx"] = "lua/bizreg/transport/ngx.lua",
      ["bizreg.webhook"] = "lua/bizreg/webhook.lua",
      ["bizreg.webhook_store"] = "lua/bizreg/webhook_store.lua",
    },
    bin = { ["bizreg"] = "bin/bizreg" },
  },
}
test = { type = "command", command = "make test" }
