#!/bin/sh
# Installs the built project into a scratch prefix, then builds an outside project
# against it twice: with find_package(duende-mlock) and with pkg-config, and runs both.
# Usage: test_install.sh BUILD_DIR CONSUMER_SOURCE_DIR
set -eu
build=$1
consumer=$2
work=$(mktemp -d /tmp/duende-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(find "$prefix" -name 'libduende-mlock.so.1' -printf '%h\n' | head -n1)
test -n "$libdir" || { echo "libduende-mlock.so.1 not installed"; exit 1; }
# The shim lives in a directory named after the SONAME, never beside the library: a
# libduende-mlock2 must be able to ship its own.
test -f "$libdir/duende-mlock1/libduende-mlock-preload.so" ||
  { echo "preload shim not installed in $libdir/duende-mlock1/"; exit 1; }
if test -e "$libdir/libduende-mlock-preload.so"; then
  echo "preload shim installed unversioned in $libdir"; exit 1
fi

echo "== CMake: find_package(duende-mlock)"
cmake -S "$consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log"
cmake --build "$work/cmake-build" >"$work/build.log"
LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer_cpp"
LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer_c"

echo "== CMake: find_package(duende-mlock 2) must fail (SameMajorVersion)"
mkdir -p "$work/major2"
cat >"$work/major2/CMakeLists.txt" <<'EOF2'
cmake_minimum_required(VERSION 3.25)
project(major2 LANGUAGES CXX)
find_package(duende-mlock 2 REQUIRED)
EOF2
if cmake -S "$work/major2" -B "$work/major2/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/major2.log" 2>&1; then
  echo "find_package(duende-mlock 2) succeeded against a version 1 library"; exit 1
fi

echo "== pkg-config duende-mlock"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists duende-mlock
pc_version=$(pkg-config --modversion duende-mlock)
case $pc_version in 1.*) ;; *) echo "pkg-config version $pc_version, expected 1.x"; exit 1 ;; esac
pkg-config --atleast-version=1 duende-mlock
# Absolute directories, of this install's prefix: no ${pcfiledir}/../.. paths.
cflags=$(pkg-config --cflags duende-mlock | sed "s/ *$//")  # pkgconf ends with a space
[ "$cflags" = "-I$prefix/include" ] || { echo "pkg-config --cflags: \"$cflags\", expected \"-I$prefix/include\""; exit 1; }
libs=$(pkg-config --libs duende-mlock | sed "s/ *$//")
[ "$libs" = "-L$libdir -lduende-mlock" ] || { echo "pkg-config --libs: \"$libs\", expected \"-L$libdir -lduende-mlock\""; exit 1; }
[ "$(pkg-config --variable=prefix duende-mlock)" = "$prefix" ] || { echo "prefix is not $prefix"; exit 1; }

echo "== staged install (DESTDIR): the .pc file names the real prefix, not the stage"
DESTDIR=$work/stage cmake --install "$build" --prefix /usr >"$work/stage.log"
stage_pc=$(find "$work/stage" -name duende-mlock.pc)
grep -qx 'prefix=/usr' "$stage_pc" || { echo "staged .pc:"; cat "$stage_pc"; exit 1; }
# shellcheck disable=SC2016
grep -qx 'includedir=${prefix}/include' "$stage_pc" || { echo "staged .pc:"; cat "$stage_pc"; exit 1; }
# /usr/include is a system directory: pkg-config adds nothing (it did add the relative
# /usr/lib/<triplet>/pkgconfig/../../../include).
staged_cflags=$(PKG_CONFIG_PATH=$(dirname "$stage_pc") pkg-config --cflags duende-mlock | sed "s/ *$//")
[ -z "$staged_cflags" ] || { echo "staged pkg-config --cflags: \"$staged_cflags\", expected nothing"; exit 1; }
find "$work/stage" -path '*/duende-mlock1/libduende-mlock-preload.so' | grep -q . ||
  { echo "staged: no duende-mlock1/libduende-mlock-preload.so"; exit 1; }
# shellcheck disable=SC2046
g++ -std=c++20 "$consumer/consumer.cpp" -o "$work/pc_cpp" $(pkg-config --cflags --libs duende-mlock)
# shellcheck disable=SC2046
gcc -std=c11 "$consumer/consumer.c" -o "$work/pc_c" $(pkg-config --cflags --libs duende-mlock)
LD_LIBRARY_PATH=$libdir "$work/pc_cpp"
LD_LIBRARY_PATH=$libdir "$work/pc_c"
echo "install test: all consumers built and ran"
