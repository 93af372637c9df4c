-- make lint: luacheck over the library, the command, the sandbox, specs and tools.
std = "max"                    -- Lua 5.1–5.4 and LuaJIT
max_line_length = 150
self = false                   -- methods may ignore self
exclude_files = { "spec/node/**", "build/**", "tree/**", "doc/**" }
read_globals = { "ngx", "jit" }

files["spec"] = { std = "+busted", max_line_length = false, unused_args = false }  -- long literals, stub callbacks
files["bench"] = { max_line_length = false }
files["fuzz"] = { max_line_length = false }
files["bin/bizreg"] = { globals = { "_" } }  -- the shell/Lua polyglot's first line
files["examples/demo.lua"] = { globals = { "_" } }  -- a top-level script: `_` is its scratch
