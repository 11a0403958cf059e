#!/bin/sh
# Benchmark set-up only (never CI): Debian's PyTorch for the native peer row of `npm run bench`.
set -e
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "python3-torch is installed: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
  exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends python3-torch python3-numpy
