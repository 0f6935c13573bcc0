#!/usr/bin/env bash
# Installs what the project needs and is missing (LLVM/MLIR 22 and ninja from
# Debian, GoogleTest), then configures the build in ./build. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -f /usr/lib/llvm-22/lib/cmake/mlir/MLIRConfig.cmake ] || need+=(libmlir-22-dev mlir-22-tools)
[ -x /usr/lib/llvm-22/bin/FileCheck ] || need+=(llvm-22-dev llvm-22-tools)
command -v ninja >/dev/null || need+=(ninja-build)
command -v cmake >/dev/null || need+=(cmake)
[ -f /usr/include/gtest/gtest.h ] || need+=(libgtest-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja
fi
