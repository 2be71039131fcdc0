#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the JSON fuzzer with clang's libFuzzer, ASan and UBSan:
#   tests/fuzz/build-json-fuzz.sh BUILD_DIR   (a configured meson build dir)
#   ./json-fuzz -max_total_time=60 -max_len=4096 CORPUS_DIR
set -e
here=$(dirname "$0")
build=${1:?usage: $0 BUILD_DIR}
clang -g -O1 -fsanitize=fuzzer,address,undefined \
  -I"$build" -I"$here/../../src/core" \
  "$here/json-fuzz.c" "$here/../../src/core/cf-json.c" "$here/../../src/core/cf-json-parser.c" \
  $(pkg-config --cflags --libs json-glib-1.0) -o "${2:-json-fuzz}"
