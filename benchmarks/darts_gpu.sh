#!/usr/bin/env bash
# Differentiable search on a lent GPU, in one command (a loan is short):
#   1. each method alone for 2 short epochs (PROBE_IMAGES images): seconds per epoch alone on the device;
#   2. every planned run (METHODS x SEEDS) side by side for 2 short epochs: seconds per epoch when they share it;
#   3. the runs themselves, side by side, each with as many search epochs (at most 50, the NB201 protocol's)
#      as that shared speed lets it finish before DEADLINE seconds; DARTS with perturbation selection
#      (DARTS-PT, 5 tuning epochs between decisions), so it gives the argmax and the selected cell.
# Speeds are written to benchmarks/results/darts_gpu_speed_<device>.json, the runs to darts_search_<device>.{json,md}.
# Data: the 4,000-image CIFAR-10 subset (benchmarks/darts_search.py's default; the plan scales the probe to it).
# Usage: DEADLINE=480 benchmarks/darts_gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
DEADLINE=${DEADLINE:-480}
DEVICE=${DEVICE:-cuda}
METHODS=${METHODS:-darts darts-v2 gdas}
SEEDS=${SEEDS:-0 1}
PROBE_IMAGES=${PROBE_IMAGES:-1280}
start=$(date +%s)
probe=$(mktemp -d)
export OMP_NUM_THREADS=1  # each run drives the device from one thread; the CPU cores stay for the others

search() {  # METHOD SEED OUT EPOCHS [extra args]: one search in its own process, killed after LIMIT s if set
  local method=$1 seed=$2 out=$3 epochs=$4
  shift 4
  local select=argmax
  [[ $method == darts ]] && select=perturb
  timeout "${LIMIT:-0}" python benchmarks/darts_search.py --methods "$method" --seed "$seed" --epochs "$epochs" \
    --select "$select" --device "$DEVICE" --out "$out" "$@"
}

for method in $METHODS; do
  search "$method" 0 "$probe/alone.json" 2 --max-images "$PROBE_IMAGES" --select argmax \
    --checkpoints "$probe/alone" || exit 1
done
for method in $METHODS; do
  for seed in $SEEDS; do
    search "$method" "$seed" "$probe/shared.json" 2 --max-images "$PROBE_IMAGES" --select argmax \
      --checkpoints "$probe/shared" &
  done
done
wait
plan=$(python - "$probe" "$DEADLINE" "$(( $(date +%s) - start ))" "$DEVICE" <<'EOF'
import json, sys
from pathlib import Path
probe, deadline, elapsed, device = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
TUNING = 5 * 5 + 6  # DARTS-PT: 5 tuning epochs between decisions, and about one epoch per decision
def per_epoch(runs):  # per method, the slowest run's second (warm) epoch, scaled from the probe's images to the data's
    out = {}
    for run in runs:
        second = run["epochs"][1]
        scale = 4000 / run["config"]["max_images"]  # the subset's images per probe image
        out[run["method"]] = max(out.get(run["method"], 0.0), second["seconds"] * scale)
    return out
runs = {name: json.loads((probe / f"{name}.json").read_text())["runs"].values() for name in ("alone", "shared")}
alone, shared = per_epoch(runs["alone"]), per_epoch(runs["shared"])
available = 0.9 * (deadline - elapsed) - 30  # start-up, benchmark look-up and a margin
epochs = {m: max(0, min(50, int(available / s) - (TUNING if m == "darts" else 0))) for m, s in shared.items()}
Path("benchmarks/results").mkdir(exist_ok=True)
Path(f"benchmarks/results/darts_gpu_speed_{device}.json").write_text(json.dumps(
    {"device": device, "seconds_per_epoch_alone": alone, "seconds_per_epoch_shared": shared,
     "runs_side_by_side": len(runs["shared"]),
     "planned_epochs": epochs, "note": "4,000-image subset epochs (2,000 weight + 2,000 alpha images, batch 64), "
     "scaled from the probe's second epoch"}, indent=2) + "\n")
print(" ".join(f"{m}={e}" for m, e in epochs.items()))
EOF
) || exit 1
echo "planned search epochs: $plan (after $(( $(date +%s) - start )) s)"
for entry in $plan; do
  method=${entry%%=*} epochs=${entry#*=}
  (( epochs < 1 )) && { echo "$method: no time for one epoch"; continue; }
  for seed in $SEEDS; do
    LIMIT=$(( DEADLINE - ($(date +%s) - start) )) search "$method" "$seed" \
      "benchmarks/results/darts_search_${DEVICE%%:*}.json" "$epochs" &
  done
done
wait
echo "done after $(( $(date +%s) - start )) s"
