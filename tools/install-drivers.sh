#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the OpenCL implementations clrelu is tested on besides PoCL (docs/drivers.md):
#   - Intel's OpenCL CPU runtime, from PyPI into a virtual environment, registered system-wide
#     by an ICD file naming its libintelocl.so by absolute path;
#   - Oclgrind (Debian's package), registered in a folder of its own, NOT among the system's
#     vendors: it reports itself as a GPU, so there it would become every OpenCL program's
#     default device and a simulator slows everything down. Use it through
#     OCL_ICD_VENDORS=/etc/OpenCL/oclgrind-vendors (tools/ci-oclgrind.sh does).
# Idempotent: what is already in place is left as it is. As root, or through sudo.
#   CLRELU_INTEL_OCL_DIR=/opt/intel-ocl   where the virtual environment goes
#   CLRELU_INTEL_OCL_VERSION=2026.2.0     intel-opencl-rt and intel-cmplr-lib-rt version (the
#                                         one CI is run with; the runtime is a JIT compiler, so
#                                         a new version is a new compiler to test against)
# Never put the environment's lib/ on LD_LIBRARY_PATH: it holds its own libOpenCL.so.1, which
# would shadow Debian's ICD loader. libintelocl.so finds what it needs beside it (its run path).
set -euo pipefail

venv=${CLRELU_INTEL_OCL_DIR:-/opt/intel-ocl}
version=${CLRELU_INTEL_OCL_VERSION:-2026.2.0}
vendors=/etc/OpenCL/vendors
intel_icd=$vendors/intel-cpu.icd
oclgrind_vendors=/etc/OpenCL/oclgrind-vendors
oclgrind_icd=$oclgrind_vendors/oclgrind.icd

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-drivers: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi

# Debian's packages: the ICD loader, Python's venv (Debian's python3, whatever python3 is first
# on PATH), Oclgrind, clinfo to see the result. apt-get only when one is missing.
packages=(ocl-icd-libopencl1 python3 python3-venv oclgrind clinfo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
fi

# Writes content to path in one step (a rename): readers see the old file or the new one.
write_file() {
  local path=$1 content=$2
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
    return
  fi
  printf '%s\n' "$content" | $sudo tee "$path.tmp" >/dev/null
  $sudo chmod 644 "$path.tmp"
  $sudo mv -f "$path.tmp" "$path"
  echo "install-drivers: wrote $path"
}

# --- Intel's OpenCL CPU runtime ------------------------------------------------------------
installed=$("$venv/bin/python" -m pip show intel-opencl-rt 2>/dev/null |
            sed -n 's/^Version: //p' || true)
if [ "$installed" != "$version" ] || [ ! -f "$venv/lib/libintelocl.so" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    $sudo /usr/bin/python3 -m venv "$venv"
  fi
  $sudo "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    "intel-opencl-rt==$version" "intel-cmplr-lib-rt==$version"
fi
[ -f "$venv/lib/libintelocl.so" ] || {
  echo "install-drivers: $venv/lib/libintelocl.so is missing after pip install" >&2
  exit 1
}

# Exactly one Intel ICD at every moment: another file naming a libintelocl.so (an older path,
# another name) is renamed to ours if ours is absent (one step), removed otherwise; then ours
# is written in one step.
$sudo mkdir -p "$vendors"
for f in "$vendors"/*.icd; do
  [ -f "$f" ] && [ "$f" != "$intel_icd" ] && grep -q 'libintelocl\.so' "$f" || continue
  if [ -e "$intel_icd" ]; then
    $sudo rm -f "$f"
  else
    $sudo mv "$f" "$intel_icd"
  fi
  echo "install-drivers: replaced $f by $intel_icd"
done
write_file "$intel_icd" "$venv/lib/libintelocl.so"

# --- Oclgrind ------------------------------------------------------------------------------
# Debian's package installs no ICD file.
lib=$(dpkg -L oclgrind | grep -m1 '/liboclgrind-rt-icd\.so$' || true)
[ -n "$lib" ] || { echo "install-drivers: oclgrind's liboclgrind-rt-icd.so not found" >&2; exit 1; }
$sudo mkdir -p "$oclgrind_vendors"
write_file "$oclgrind_icd" "$lib"
for f in "$vendors"/*.icd; do
  if [ -f "$f" ] && grep -q oclgrind "$f"; then
    echo "install-drivers: warning: $f registers Oclgrind system-wide: every program's" \
         "default GPU is now a simulator (remove it; use OCL_ICD_VENDORS=$oclgrind_vendors)" >&2
  fi
done

echo "install-drivers: OpenCL platforms (Oclgrind only with OCL_ICD_VENDORS=$oclgrind_vendors):"
clinfo -l
