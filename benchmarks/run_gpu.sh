#!/usr/bin/env bash
# Every GPU check and benchmark of the fused execution work in one go, for a machine with an
# NVIDIA GPU and hograd[gpu] (cupy) installed, torch and JAX beside it for the comparisons.
# Run from the repository root: bash benchmarks/run_gpu.sh [OUTPUT_DIRECTORY]
# Each step's output goes to its own file in OUTPUT_DIRECTORY (default: gpu-results) and to
# the screen; a failing step does not stop the others, and the script exits non-zero if any
# failed.
set -u -o pipefail
out="${1:-gpu-results}"
mkdir -p "$out"
python=${PYTHON:-python}
failed=0

step() {   # step NAME COMMAND...: run it, its output teed to $out/NAME.txt
    local name=$1
    shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.txt" || failed=1
}

step probe "$python" -c "from hograd.devices.gpu import probe; print(probe()[1] or 'gpu present')"
# fused against unfused results on every present device, the GPU's kernels among them
step tests "$python" -m pytest -q -p no:cacheprovider tests/test_fusion.py \
    tests/test_device_plugins.py tests/test_capabilities.py
step capabilities "$python" -m hograd capabilities --device gpu
step h3 "$python" benchmarks/bench_h3_derivative.py --device gpu
step h4_uxx "$python" benchmarks/bench_h4_laplacian.py --device gpu
step h5_step "$python" benchmarks/bench_h5_pinn_step.py --device gpu
step h7 "$python" benchmarks/bench_h7_forces.py --device gpu
exit $failed
