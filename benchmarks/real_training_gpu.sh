#!/usr/bin/env bash
# The whole real-training measurement for a lent GPU, in one command (a GPU loan is short):
#   1. the CUDA tests (network forward/backward; every proxy on CUDA against the CPU);
#   2. seconds per epoch on the device (benchmarks/training_speed.py), alone and two at a time;
#   3. benchmarks/real_training.py with its two arms side by side (two processes on one device),
#      with as many epochs (a multiple of 10, at most 200) as the measured speed lets the guided
#      arm's 10 + 1 sequential trainings finish within BUDGET seconds; then the results are collected;
#   4. proxy speed on the device (benchmarks/proxy_speed.py), if the time left allows.
# Usage: BUDGET=330 DEVICE=cuda benchmarks/real_training_gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGET=${BUDGET:-300}
DEVICE=${DEVICE:-cuda}
SPEED_EPOCHS=${SPEED_EPOCHS:-3}
start=$(date +%s)

python -m pytest -q -s -p no:cacheprovider tests/test_nb201_net.py tests/test_proxies.py -k cuda
python benchmarks/training_speed.py --device "$DEVICE" --epochs "$SPEED_EPOCHS" --concurrent 2 || exit 1
if [[ -z "${EPOCHS:-}" ]]; then
EPOCHS=$(python - "$BUDGET" "$DEVICE" <<'EOF'
import json, sys
budget, device = float(sys.argv[1]), sys.argv[2]
speed = json.load(open(f"benchmarks/results/training_speed_{device}.json"))
per_epoch = speed["seconds_per_epoch_largest_concurrent"]  # an upper bound: the largest cell, sharing the device
print(max(1, min(200, int((budget - 40) / (11 * per_epoch)) // 10 * 10)))
EOF
)
fi
echo "planned: $EPOCHS epochs per training"
python benchmarks/real_training.py --device "$DEVICE" --epochs "$EPOCHS" --arm guided &
python benchmarks/real_training.py --device "$DEVICE" --epochs "$EPOCHS" --arm random &
wait
python benchmarks/real_training.py --device "$DEVICE" --epochs "$EPOCHS"
echo "real training done after $(( $(date +%s) - start )) s"
if (( $(date +%s) - start < BUDGET + 60 )); then
  timeout 60 python benchmarks/proxy_speed.py --device "$DEVICE" --sample 30
fi
