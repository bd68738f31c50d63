#!/usr/bin/env bash
# Builds .whl/ (git-ignored) for benchmarks/gpu_device.sh: what a lent GPU machine (torch + transformers, no
# internet, Python 3.12, x86-64) lacks for the CUDA tests and benchmarks. Runs here, where PyPI is reachable.
#
#   bash benchmarks/gpu_wheels.sh      # then: run bash benchmarks/gpu_device.sh tests llm diffusion, carrying .whl
#
# The carried tree must stay under 64 MiB, so PyPI's 68 MB imageio-ffmpeg wheel is replaced by the older,
# smaller static ffmpeg 4.2 (only clip encoding runs there) and PyAV travels as a tar.xz of its installed files.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
      --platform manylinux2010_x86_64 --platform any)
dl() { python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${plat[@]}" "$@"; }
dl -d .whl diffusers==0.42.1 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types typing-inspection importlib-metadata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f .whl/av.tar.xz ]; then
  dl -d "$tmp" av==18.1.0
  mkdir "$tmp/av" && (cd "$tmp/av" && unzip -q "$tmp"/av-*.whl && tar -cf - . | xz -T0 -9 > "$OLDPWD/.whl/av.tar.xz")
fi
if [ ! -f .whl/ffmpeg.xz ]; then
  dl -d "$tmp" imageio-ffmpeg==0.4.9
  mkdir "$tmp/ff" && (cd "$tmp/ff" && unzip -q "$tmp"/imageio_ffmpeg-0.4.9-*.whl)
  xz -T0 -9 -c "$tmp"/ff/imageio_ffmpeg/binaries/ffmpeg-linux64-* > .whl/ffmpeg.xz
fi
du -sh .whl
