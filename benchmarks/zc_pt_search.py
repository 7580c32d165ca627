"""Zero-Cost-PT on the untrained NB201 supernet, on this CPU: the derived cell's accuracy and the search time.

Usage: python benchmarks/zc_pt_search.py [--seeds 0,1,2,3,4] [--datasets cifar10,cifar100,imagenet16]
                                         [--proxy zico] [--candidates 10] [--report]

Each run: `proxynas search --strategy zc-pt --dataset D --seed S --proxies P --candidates C` (supernet of 16
channels and 5 cells per stage, batch 64 of the dataset's default images, random edge order); the derived
cell's 200-epoch test accuracy (`test_acc`) is read from the benchmark after the search. Runs already in
benchmarks/results/zc_pt_search.json are kept (a killed run resumes with the next one).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from proxynas.search import SearchSetup

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("cifar10", "cifar100", "imagenet16")
# Test accuracy (mean ± std) from the Zero-Cost-PT paper, as quoted in issue 14.
REFERENCE = {"zico": ((94.15, 0.22), (72.77, 0.66), (46.39, 0.23)), "zen": ((93.84, None), (71.63, None), (46.67, None))}
OPTIMUM = (94.37, 73.51, 47.31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--proxy", default="zico")
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--report", action="store_true", help="Only rewrite the markdown from the JSON.")
    args = parser.parse_args()
    out = RESULTS / "zc_pt_search.json"
    result = json.loads(out.read_text()) if out.exists() else {"runs": {}}
    if not args.report:
        for dataset in args.datasets.split(","):
            for seed in map(int, args.seeds.split(",")):
                key = f"{args.proxy}/{args.candidates}/{dataset}/{seed}"
                if key in result["runs"]:
                    continue
                setup = SearchSetup(dataset=dataset, strategy="zc-pt", seed=seed, proxies=(args.proxy,), budget=1,
                                    candidates=args.candidates)
                run, _ = setup.run()
                result["runs"][key] = {"proxy": args.proxy, "candidates": args.candidates, "dataset": dataset,
                                       "seed": seed, "arch": run.best_arch, "test_acc": run.test_acc,
                                       "val_acc": run.val_acc, "search_seconds": run.search_hours * 3600,
                                       "threads": torch.get_num_threads(), "search_log": run.search_log}
                print(f"{key}: {run.best_arch} test {run.test_acc:.2f} in {run.search_hours * 60:.1f} min", flush=True)
                RESULTS.mkdir(exist_ok=True)
                out.write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result)


def write_markdown(result: dict) -> None:
    groups: dict[tuple, list[dict]] = {}
    for run in result["runs"].values():
        groups.setdefault((run["proxy"], run["candidates"], run["dataset"]), []).append(run)
    lines = ["Zero-Cost-PT on the untrained NB201 supernet (16 channels, 5 cells per stage), batch 64, random edge "
             "order; derived cell's 200-epoch test accuracy (`test_acc`, %) over seeds, and wall minutes per run "
             "of the search on this 2-core CPU (2 threads). Reference: Zero-Cost-PT paper (GPU), as quoted in issue 14.", "",
             "| proxy | candidates | dataset | seeds | test acc mean ± std | reference | optimum | minutes per run | cells |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (proxy, candidates, dataset), runs in sorted(groups.items()):
        accs = [r["test_acc"] for r in runs]
        spread = f" ± {statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
        ref = REFERENCE.get(proxy, [(None, None)] * 3)[DATASETS.index(dataset)]
        reference = "—" if ref[0] is None else f"{ref[0]:.2f}" + (f" ± {ref[1]:.2f}" if ref[1] is not None else "")
        minutes = statistics.mean(r["search_seconds"] for r in runs) / 60
        cells = ", ".join(a.replace("|", "\\|") for a in sorted({r["arch"] for r in runs}))  # pipes inside a table
        lines.append(f"| {proxy} | {candidates} | {dataset} | {len(runs)} | {statistics.mean(accs):.2f}{spread} | "
                     f"{reference} | {OPTIMUM[DATASETS.index(dataset)]:.2f} | {minutes:.1f} | {cells} |")
    (RESULTS / "zc_pt_search.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
