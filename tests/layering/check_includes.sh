#!/bin/sh
# Every #include "PART/…" in daemon/ must name the part itself or one it may depend on
# ("duende/" is libduende-mlock, below every part that links it):
# dependencies only go down (daemon/CMakeLists.txt draws the graph). The build would let
# an upward include compile (one include root), so this test is the guard.
# Usage: check_includes.sh DAEMON_DIR
set -eu
daemon=$1
allowed() {
  case $1 in
    api) echo "api" ;;
    config) echo "config api duende" ;;
    os) echo "os api duende" ;;
    core) echo "core config os api duende" ;;
    bus) echo "bus core config os api duende" ;;
    app) echo "app bus core config os api duende" ;;
    ctl) echo "ctl api" ;;
    *) echo "" ;;
  esac
}
TMPDIR_CHECK=$(mktemp -d)
trap 'rm -rf "$TMPDIR_CHECK"' EXIT
bad=0
for dir in "$daemon"/*/; do
  part=$(basename "$dir")
  ok=$(allowed "$part")
  if [ -z "$ok" ]; then
    echo "daemon/$part: a folder the layering does not know; add it to $0"; bad=1; continue
  fi
  for file in "$dir"*.hpp "$dir"*.cpp; do
    [ -e "$file" ] || continue
    grep -n '^#include "[a-z_]*/' "$file" | while IFS= read -r line; do
      target=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([a-z_]*\)\/.*/\1/')
      case " $ok " in *" $target "*) ;; *)
        echo "daemon/$part/$(basename "$file"):${line%%:*}: includes $target/, but $part may use only: $ok"
        echo x >>"$TMPDIR_CHECK/bad" ;;
      esac
    done
  done
done
if [ "$bad" -ne 0 ] || [ -s "$TMPDIR_CHECK/bad" ]; then exit 1; fi
echo "layering: every include in daemon/ goes down"
