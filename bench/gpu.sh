#!/usr/bin/env bash
# GPU checks for Lathe on a machine with a GPU, from a copy of this checkout and its
# node_modules (installed elsewhere with `npm ci`; nothing is downloaded here):
#
#   bash bench/gpu.sh            # the step tests on every backend present, then the GPU bench
#   LATHE_BENCH_WIDE_ROWS=200000 bash bench/gpu.sh   # a smaller wide table
#
# It says what is missing instead of failing halfway: Dawn (the `webgpu` package) needs
# the Vulkan loader (libvulkan.so.1) and the GPU vendor's Vulkan driver (for NVIDIA,
# nvidia_icd.json from the driver package); tfjs-node-gpu needs libtensorflow built for
# CUDA 11 / cuDNN 8 (its install script downloads it). The bench runs PyTorch's CPU peer
# beside it where python3 has torch, and skips it (LATHE_BENCH_NO_PEER) where not.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

say "machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB, node $(node --version)"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "nvidia-smi not found (not an NVIDIA machine, or the driver is not installed)"
fi

if [ ! -d node_modules/webgpu ] || [ ! -d node_modules/@tensorflow/tfjs-backend-webgpu ]; then
  echo "error: node_modules has no webgpu / @tensorflow/tfjs-backend-webgpu: run npm ci (they are optionalDependencies)" >&2
  exit 1
fi

vulkan=""
for d in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu; do
  [ -e "$d/libvulkan.so.1" ] && vulkan="$d/libvulkan.so.1" && break
done
if [ -z "$vulkan" ]; then
  echo "warning: libvulkan.so.1 (the Vulkan loader) is missing: webgpu will be skipped. On Debian/Ubuntu: apt-get install libvulkan1" >&2
else
  echo "Vulkan loader: $vulkan"
fi
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')
echo "Vulkan drivers (ICDs): ${icds:-none found}"

say "backends (lathe doctor's probe)"
node --import tsx -e "
import('./src-main/engine/training/backends.ts').then(async ({ probeBackends }) => {
  for (const r of await probeBackends('auto')) console.log((r.chosen ? '* ' : '  ') + r.name.padEnd(14) + (r.available ? r.device + ' ' + JSON.stringify(r.details ?? {}) : 'skipped: ' + r.reason))
})" 2>&1 | grep -v '^ *at \|XDG_RUNTIME_DIR'

say "step tests on every backend present"
npx vitest run --project unit test/engine/training/step-backends.test.ts test/engine/training/step.test.ts test/engine/training/trainer.test.ts
tests=$?

peer_env=()
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "/usr/bin/python3 (the peer's interpreter) has no torch here: the bench runs Lathe's backends only"
  peer_env=(LATHE_BENCH_NO_PEER=1)
fi
for backend in webgpu tfjs-node-gpu; do
  say "npm run bench -- train --backend $backend"
  env "${peer_env[@]}" npx tsx bench/index.ts train --backend "$backend" 2>&1 | grep -v '^ *at \|XDG_RUNTIME_DIR'
done
exit $tests
