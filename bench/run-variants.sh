#!/usr/bin/env bash
# On the GPU machine, from the bundle of scripts/bench-variants.sh: each
# variant with the cases it affects; per case a line with the launched call's
# median us and one with the graph replay's median us and roofline. Variant
# names start with su (state update), cv (conv), sc (scan), br (the whole
# branch, built from branch_jamba) or al (every case).
cd "$(dirname "$0")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for v in variants/*; do
  name=$(basename $v)
  case $name in
    su*) cases="--case D1 --case D2 --case D2-f32" ;;
    cv*) cases="--case D3 --case P3" ;;
    sc*) cases="--case P1 --case P2" ;;
    br*) cases="--case L-pre --case L-mix --case L-dec" ;;
    al*) cases="" ;;
  esac
  bin/hssm-bench --artifacts $v $cases --graph > "$log" 2>&1 || { echo "$name FAILED"; tail -5 "$log"; }
  grep -E '^(D|P|L)[0-9A-Za-z-]*(/g)? ' "$log" | awk -v n=$name '{for(i=1;i<=NF;i++) if($i=="|") r=$(i-1); printf "%-14s %-10s %10s %8s\n", n, $1, $2, r}'
done
