#!/usr/bin/env bash
# The whole-space NB201 proxy table on a lent GPU, in one command (a loan is short):
#   1. the CUDA agreement test (every registered proxy on CUDA against the CPU, 14 cells), in the background,
#      its output in LOG/cuda_agreement.log: a column scored on CUDA is used only if its proxy passes there;
#   2. benchmarks/nb201_table.py --device cuda with PROCESSES single-threaded workers on the missing chunks of
#      PROXY_GROUPS (in that order, group by group; by default the costliest on a CPU first), starting no
#      slice of 100 cells after LIMIT seconds;
#   3. beside it, the same with --device cpu and CPU_PROCESSES workers on CPU_GROUPS: the groups that the
#      machine's CPU cores score faster than its GPU (vkdnw, one backward pass per class: on an H200, 14 GPU
#      workers gave about 10 cells per second, 16 CPU workers about 20; benchmarks/results/cuda_checks.md).
# The chunks land in benchmarks/results/nb201_table/ (a chunk cut short as <chunk>.part.npz, which any
# machine resumes) and the whole folder is archived to ARCHIVE in the same command: bring that back, unpack
# it and commit it, then run --report and --pack on the CPU. A slice still running LIMIT + 60 s in is killed.
# Measured on an H200 with zico: 12 workers kept the GPU 99% busy and scored about 24,000 cells in 465 s.
# Data: PROXYNAS_DATA must hold images/ with each dataset's default file, and cache/nb201.h5 the built store
# (a machine without ../shared gets copies of both; nothing of ../shared is committed).
# Usage: LIMIT=480 PROCESSES=8 CPU_PROCESSES=6 LOG=/tmp ARCHIVE=/tmp/nb201_table.tgz benchmarks/nb201_table_gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-480}
PROCESSES=${PROCESSES:-8}
CPU_PROCESSES=${CPU_PROCESSES:-6}
LOG=${LOG:-/tmp}
ARCHIVE=${ARCHIVE:-$LOG/nb201_table.tgz}
PROXY_GROUPS=${PROXY_GROUPS:-swap,te_nas,grasp,zen,gradsign,zico,nwot,grad_norm,fisher}
CPU_GROUPS=${CPU_GROUPS:-vkdnw}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
spare=$(( $(nproc) - PROCESSES - CPU_PROCESSES ))
OMP_NUM_THREADS=$(( spare > 1 ? spare : 1 )) \
  python -m pytest -q -s -p no:cacheprovider tests/test_proxies.py -k cuda >"$LOG/cuda_agreement.log" 2>&1 &
test_pid=$!
score() {  # device, processes, groups; each worker on one thread
  OMP_NUM_THREADS=1 timeout -k 5 $(( LIMIT + 60 )) python benchmarks/nb201_table.py --device "$1" \
    --processes "$2" --seconds "$LIMIT" --groups "$3" --score-only
}
score cpu "$CPU_PROCESSES" "$CPU_GROUPS" &
cpu_pid=$!
score cuda "$PROCESSES" "$PROXY_GROUPS"
wait "$cpu_pid"
tar czf "$ARCHIVE" benchmarks/results/nb201_table && echo "chunks archived to $ARCHIVE"
wait "$test_pid"
echo "CUDA agreement test exit code: $?"
tail -n 40 "$LOG/cuda_agreement.log"
