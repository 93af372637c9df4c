#!/bin/sh
# The rendered API reference (make docs; run after LDoc): markup that did not render shows as
# literal text. Fails on a backtick left in the HTML (a code span markdown did not close, e.g. one
# spanning lines), on `body = ""` (`<the JSON>` taken for an HTML tag), and on a page without
# ldoc-extra.css (LDoc's 700-pixel column cuts long example lines; that file wraps them), without
# a section per client (KOS, RCS), or with a one-shot function returning only "res or nil".
set -u
cd "$(dirname "$0")/../.." || exit 1
bad=0
files=$(find doc -name '*.html' | sort)
[ -n "$files" ] || { echo "docs: no HTML under doc/ (run make docs)"; exit 1; }
# shellcheck disable=SC2086
if grep -n '`' $files; then echo "docs: literal backticks in the HTML (above)"; bad=1; fi
# shellcheck disable=SC2086
if grep -n 'body = &quot;&quot;\|body = ""\|= "<[a-z]' $files; then echo "docs: an empty body = \"\" (a <tag> eaten, above)"; bad=1; fi
# one section per client (KOS, RCS), and one-shot functions' returns spelled out
for c in kos_client rcs_client; do
  grep -q "name=\"Class_$c\"" doc/modules/bizreg.html || { echo "docs: no section $c in bizreg.html"; bad=1; }
done
if grep -n 'res or nil' doc/modules/bizreg.html; then echo "docs: returns not spelled out (above)"; bad=1; fi
# every page takes ldoc-extra.css, which wraps long example lines
for f in $files; do
  grep -q 'ldoc-extra.css' "$f" || { echo "docs: $f does not link ldoc-extra.css (long lines cut)"; bad=1; }
done
grep -q 'white-space: pre-wrap' doc/ldoc-extra.css 2>/dev/null || { echo "docs: doc/ldoc-extra.css does not wrap <pre>"; bad=1; }
# the guides' links into the reference (README.md, docs/*.md: doc/….html#name) lead to a page
# and a name LDoc wrote (spec/docs_spec.lua checks every other relative link)
missing=$(for md in README.md docs/*.md; do
  grep -o '](\(\.\./\)*doc/[^)]*)' "$md" | sed 's/^](\(\.\.\/\)*//; s/)$//' | while IFS= read -r link; do
    page=${link%%#*}; name=${link#"$page"}; name=${name#\#}
    if [ ! -f "$page" ]; then echo "$md: $link (no page $page)"
    elif [ -n "$name" ] && ! grep -qF "name = \"$name\"" "$page"; then echo "$md: $link (no name $name in $page)"; fi
  done
done)
if [ -n "$missing" ]; then printf '%s\n' "$missing"; echo "docs: links into the reference that lead nowhere (above)"; bad=1; fi
exit $bad
