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
test -f "$libdir/libduende-mlock-preload.so" || { echo "preload shim not installed"; exit 1; }

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
# shellcheck disable=SC2046
g++ -std=c++20 "$consumer/consumer.cpp" -o "$work/pc_cpp" $(pkg-config --cflags --libs duende-mlock)
# shellcheck disable=SC2046
gcc -std=c11 "$consumer/consumer.c" -o "$work/pc_c" $(pkg-config --cflags --libs duende-mlock)
LD_LIBRARY_PATH=$libdir "$work/pc_cpp"
LD_LIBRARY_PATH=$libdir "$work/pc_c"
echo "install test: all consumers built and ran"
