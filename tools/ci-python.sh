#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CI: the Python package's tests (python/tests) against the library in build/, with Debian's
# python3 and its python3-numpy, python3-pyopencl and python3-pytest (tools/bootstrap.sh
# installs them; this script installs nothing). Every OpenCL platform registered in
# /etc/OpenCL/vendors is tested, as the C tests are.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=build/host/libclrelu.so.0.1
[ -e "$lib" ] || { echo "ci-python: $lib is missing: build first" >&2; exit 1; }
export CLRELU_LIBRARY="$PWD/$lib"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests "$@"
