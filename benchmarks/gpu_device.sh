#!/usr/bin/env bash
# GPU checks on a lent CUDA machine that has torch + transformers but no internet (see README, "GPU checks").
#
# Carried in .whl/ (git-ignored; built on the dev machine, see README): the wheels the machine lacks
# (diffusers, pydantic, ...), av.tar.xz (PyAV, unpacked into the site folder) and ffmpeg.xz (a static ffmpeg).
#
#   bash benchmarks/gpu_device.sh tests llm diffusion vision  # sections, in order; logs go to $OUT (or /tmp/out)
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
SITE=/tmp/site
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE .whl/*.whl || exit 1
  [ -f .whl/av.tar.xz ] && tar -xJf .whl/av.tar.xz -C $SITE
  [ -f .whl/ffmpeg.xz ] && xz -dc .whl/ffmpeg.xz > /tmp/ffmpeg && chmod +x /tmp/ffmpeg && export STORYGEN_FFMPEG=/tmp/ffmpeg
fi
export PYTHONPATH=$SITE:$PWD/src:$PWD/tests:$PWD/benchmarks HF_HUB_OFFLINE=1
export STORYGEN_COMPILE_CACHE=${STORYGEN_COMPILE_CACHE:-/tmp/storygen-compile}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, diffusers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'diffusers', diffusers.__version__)"

for section in "$@"; do
  echo "=== $section $(date +%T)"
  case $section in
    tests)
      files=${TEST_FILES:-$(ls tests/test_visual_sdxl.py tests/test_visual_ltx.py tests/test_visual_svd.py tests/test_vision.py \
              tests/test_writer_transformers.py tests/test_fast_decode.py tests/test_accel.py 2>/dev/null)}
      timeout "${TESTS_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -rs --tb=short ${TEST_ARGS:-} $files \
        > "$OUT/tests.log" 2>&1
      echo "pytest rc=$?"; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/tests.log" | tail -15
      grep -E "^E " "$OUT/tests.log" | head -30 ;;
    llm)
      timeout "${LLM_TIMEOUT:-420}" python3 benchmarks/gpu_throughput.py --only llm 2>&1 | tee "$OUT/llm.log" ;;
    diffusion)
      timeout "${DIFFUSION_TIMEOUT:-420}" python3 benchmarks/gpu_throughput.py --only diffusion 2>&1 | tee "$OUT/diffusion.log" ;;
    vision)
      timeout "${VISION_TIMEOUT:-240}" python3 benchmarks/gpu_throughput.py --only vision 2>&1 | tee "$OUT/vision.log" ;;
    *) echo "unknown section $section (tests, llm, diffusion, vision)" ;;
  esac
  echo "=== $section done $(date +%T)"
done
