#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Usage: check-pot.sh SOURCE_ROOT
# Checks that po/POTFILES names every C file under src/ that marks strings
# with _() or N_(), that each listed file exists, and that xgettext makes a
# template from them holding strings of every kind (C, .desktop, metainfo,
# GSettings schema). Writes only to a temporary directory.
set -eu

top=$1
command -v xgettext >/dev/null 2>&1 || { echo "xgettext is not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v '^#' "$top/po/POTFILES" | sed '/^$/d' > "$tmp/listed"
status=0
while read -r file; do
  [ -f "$top/$file" ] || { echo "POTFILES lists $file, which does not exist"; status=1; }
done < "$tmp/listed"

(cd "$top" && grep -rlE '(^|[^A-Za-z0-9_])N?_\("' src --include='*.c') | sort > "$tmp/marked"
sort "$tmp/listed" > "$tmp/listed.sorted"
missing=$(comm -23 "$tmp/marked" "$tmp/listed.sorted")
if [ -n "$missing" ]; then
  echo "Marked for translation but missing from po/POTFILES:"
  echo "$missing"
  status=1
fi

# The keywords and flags of meson's 'glib' preset.
(cd "$top" && xgettext --from-code=UTF-8 --add-comments --no-wrap --package-name=contextforge-gateway \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format \
  --flag=g_print:1:c-format --flag=g_printerr:1:c-format --flag=g_printf:1:c-format \
  --flag=g_fprintf:2:c-format --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format \
  -f "$tmp/listed" -o "$tmp/template.pot")

for msgid in \
  'Serve in the foreground, headless' \
  'The gateway is still starting' \
  'Serve many MCP servers to your AI clients as one endpoint' \
  'Serve many MCP servers as one endpoint' \
  'Listen address'; do
  grep -qF "msgid \"$msgid\"" "$tmp/template.pot" || {
    echo "The template lacks \"$msgid\""
    status=1
  }
done
[ $status -eq 0 ] && echo "$(grep -c '^msgid ' "$tmp/template.pot") strings in the template"
exit $status
