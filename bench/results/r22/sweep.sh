#!/usr/bin/env bash
# D2 / D2-f32 at several batch sizes, one row per thread (sb1k) vs groups of 4 (sb0).
cd "$(dirname "$0")"
for v in sb0 sb1k; do
  for b in 8 16 32 64 128; do
    bin/hssm-bench --artifacts variants/$v --case D2 --case D2-f32 --graph --decode-batch $b 2>&1 | grep -E "^D2(-f32)?/g|FAIL" | sed "s/^/$v b$b /"
  done
done
bin/hssm-bench --artifacts artifacts --case D1 --case D2 --case D2-f32 --graph 2>&1 | grep -E "^D.*/g|FAIL" | sed "s/^/default /"
