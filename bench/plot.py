#!/usr/bin/env python3
"""Bar chart of roofline per case from one or more hssm-bench JSON files.

    python3 bench/plot.py RUN.json [RUN2.json ...] -o roofline.png [--labels A,B]
                          [--graph]

Each file is one run (one bar per case); runs sit side by side. roofline =
lower bound / measured median (1.0 is the physical limit); the y axis is
logarithmic because the naive kernels sit orders of magnitude below it.
Cases that failed or were not timed are marked instead of drawn. With
--graph the bars are the CUDA graph replays' roofline (hssm-bench --graph),
where a run has them, else the launched call's.
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["D1", "D2", "D2-f32", "D3", "P1", "P2", "P3", "L-dec", "L-pre", "L-mix"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="hssm-bench --json files")
    ap.add_argument("-o", "--output", default="roofline.png")
    ap.add_argument("--labels", help="comma-separated labels, one per file")
    ap.add_argument("--graph", action="store_true",
                    help="plot graph_roofline (CUDA graph replays) where present")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    if args.title is None:
        args.title = ("hssm-bench: roofline per case (lower bound / measured "
                      "median" + (", CUDA graph replays" if args.graph else "")
                      + ")")

    runs = []
    for path in args.runs:
        with open(path) as f:
            runs.append(json.load(f))
    labels = (args.labels.split(",") if args.labels else
              [os.path.splitext(os.path.basename(p))[0] for p in args.runs])
    if len(labels) != len(runs):
        ap.error("--labels needs one label per file")

    names = [n for n in ORDER if any(c["name"] == n for r in runs
                                     for c in r["cases"])]
    names += sorted({c["name"] for r in runs for c in r["cases"]} - set(names))
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(names) + 2), 5))
    lowest = 1.0
    for i, (run, label) in enumerate(zip(runs, labels)):
        by = {c["name"]: c for c in run["cases"]}
        xs, ys, texts = [], [], []
        for j, name in enumerate(names):
            c = by.get(name)
            x = j - 0.4 + width * (i + 0.5)
            if c is None:
                continue
            r = c.get("roofline")
            if args.graph and c.get("graph_roofline"):
                r = c["graph_roofline"]
            if c.get("status") != "ok" or not r:
                ax.text(x, 1.0, c.get("status", "?"), rotation=90, ha="center",
                        va="top", fontsize=7, color="red")
                continue
            xs.append(x)
            ys.append(r)
            texts.append(f"{r:.2g}")
            lowest = min(lowest, r)
        bars = ax.bar(xs, ys, width, label=f"{label} ({run.get('device', '?')})")
        for bar, t in zip(bars, texts):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() * 1.1,
                    t, ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(min(lowest / 3, 0.1), 1.5)
    ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel("roofline (1.0 = physical limit)")
    ax.set_title(args.title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(args.output)


if __name__ == "__main__":
    main()
