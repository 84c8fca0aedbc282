#!/usr/bin/env bash
# GPU check for DocTune's trainer on an NVIDIA machine (CUDA; PyTorch, transformers and peft for the peer),
# in one go and well under 8 minutes on an H100:
#   1. builds the native trainer against node-llama-cpp's ggml (its prebuilt CUDA backend is used at run time);
#   2. correctness: 20 training steps on the CPU and on CUDA with the same data, losses within 2%, and the
#      step graph's scheduler splits and CPU-fallback nodes on CUDA (goal: 1 split, 0 fallbacks);
#   3. throughput, MFU and peak GPU memory, DocTune at each --precision (default auto,f32; auto is what DocTune
#      measures fastest on the GPU) vs HF transformers + PEFT (bf16, SDPA) on Qwen2.5-0.5B and -1.5B shapes
#      (random weights; GGUF F16 and Q4_K written by DocTune), seq 512, rank 16, all 7 targets.
# The table is printed last; the JSON goes to bench/results/. Run from the repository after `npm install`.
# Options are passed on, e.g. bench/gpu-check.sh --batch 8 --steps 12 --shapes 0.5b --precision auto,f32,f16,bf16
set -euo pipefail
cd "$(dirname "$0")/.."

export GGML_NO_BACKTRACE=1
if [ ! -d node_modules/node-llama-cpp ]; then
  echo "gpu-check: run npm install first (node-llama-cpp provides ggml and its CUDA backend)" >&2
  exit 1
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# 1. build (a no-op when the addon is up to date)
node scripts/build-native.mjs

# The prebuilt CUDA backend needs the CUDA runtime and cuBLAS; point the loader at the toolkit if it is not
# on the default path (the trainer reports a missing runtime and would fall back to another device).
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
python3 -c 'import torch, transformers, peft; print("peer: torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)' \
  || echo "gpu-check: PyTorch/transformers/peft not importable; the peer columns will be empty" >&2

# 2 and 3
exec npx tsx bench/gpu-train.bench.ts --device cuda "$@"
