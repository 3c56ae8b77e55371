#!/bin/sh
# The alert rules are valid (promtool check rules) and fire as documented (promtool test
# rules over monitoring/mlock-supervisor.rules.test.yml). Skips (exit 77) without promtool.
# Usage: check_rules.sh MONITORING_DIR
set -eu
command -v promtool >/dev/null 2>&1 || {
  echo "SKIP: promtool not found (Debian 12: apt-get install prometheus, or scripts/install-deps)"
  exit 77
}
cd "$1"
promtool check rules mlock-supervisor.rules.yml
promtool test rules mlock-supervisor.rules.test.yml
