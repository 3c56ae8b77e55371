#!/bin/sh
# A man page formats without a troff or man warning and lexgrog finds its NAME line.
# Usage: check_man_page.sh PAGE
set -eu
if ! { command -v man && command -v lexgrog; } >/dev/null 2>&1; then
  echo "SKIP: needs man-db (man, lexgrog)"; exit 77
fi
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)
[ -z "$warnings" ] || { echo "FAIL: $1: $warnings"; exit 1; }
lexgrog "$1" | grep -q ': ".* - .*"$' || { echo "FAIL: lexgrog: $(lexgrog "$1" 2>&1)"; exit 1; }
echo "$1: clean"
