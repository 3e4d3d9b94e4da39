#!/usr/bin/env bash
# The prepared GPU session: one device `run`, at most about 9.5 minutes on an H100/H200.
#   here:   .venv/bin/python scripts/device_bundle.py
#   device: run(command="bash benchmarks/gpu_checks.sh", carry=[".device"], timeout_s=590)
# Results come back under $OUT (env.txt, tests.log, cascade.log, synflow_gennas_rea_cuda.json, throughput.log,
# proxy_throughput_cuda.json, and the ntk_cond rows tenas_gennas_proxies_ntk_cond_n1000_cuda.csv); copy them to benchmarks/results/, summarise
# the rows with tenas_gennas_proxies.py --summarize-only, and record both in BENCHMARKS.md.
set -uo pipefail
export PYTHONPATH="$PWD/.device/site" PYTHONUNBUFFERED=1
OUT="${OUT:-/tmp/gpu_checks}"
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc
  python -P -c "import sys, torch, nasir; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available(), nasir.__file__)"; } 2>&1 | tee "$OUT/env.txt"
# the GPU-only twins of CPU tests (CUDA scores equal the CPU's; bf16 training lowers the loss)
timeout 120 python -P -m pytest -q -p no:cacheprovider -k cuda \
    tests/frontends/torch/test_proxies.py tests/frontends/torch/test_train.py 2>&1 | tee "$OUT/tests.log"
# the goal, end to end on the GPU: the cascade (SynFlow REA, P 50, T 10, 450 trials, then GenNAS-N on its 3
# best cells), fresh, seed by seed (rows are written as each search finishes; the first pays CUDA's start-up)
timeout 150 python -P benchmarks/proxy_rea.py --fitness synflow --seeds 3 --queries 450 --population 50 --tournament 10 \
    --rerank gennas --rerank-top 3 --device cuda --out "$OUT/synflow_gennas_rea_cuda.json" 2>&1 | tail -n 40 > "$OUT/cascade.log"
# throughput per proxy, CUDA scores against the stored CPU ones, host syncs per architecture, NASWOT over the space
timeout 230 python -P benchmarks/proxy_throughput.py --device cuda --sample 20 --warmup 3 --sync-cells 2 \
    --whole-space --space-seconds 90 --out "$OUT/proxy_throughput_cuda.json" 2>&1 | tee "$OUT/throughput.log"
# TE-NAS's NTK condition number on the 1,000-cell standard sample, in sample order, resumed from earlier GPU
# sessions' rows (the CPU rows of tenas_gennas_proxies_ntk_cond_n1000.csv stay apart: they overlap for a device check)
cp benchmarks/results/tenas_gennas_proxies_ntk_cond_n1000_cuda.csv "$OUT/" 2>/dev/null
timeout 60 python -P benchmarks/tenas_gennas_proxies.py --sample 1000 --proxies ntk_cond --channels 16 --cells 5 \
    --device cuda --tag ntk_cond_n1000_cuda --out "$OUT" --resume > /dev/null 2>&1
wc -l "$OUT"/tenas_gennas_proxies_ntk_cond_n1000_cuda.csv
