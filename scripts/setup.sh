#!/usr/bin/env bash
# Install everything onnxquant needs to build, idempotently:
#   1. Debian packages (compiler tool chain, protobuf, libonnx-dev, CLI11, json, fmt, test libraries, ...)
#   2. ONNX Runtime 1.30's shared library from the npm package onnxruntime-node (sha256-checked)
#   3. ONNX Runtime's C/C++ headers from Debian trixie's libonnxruntime-dev .deb, fetched with a private
#      apt configuration so the machine's own apt state is never touched.
# Everything from steps 2-3 lands in .deps/ inside the project. A second run only checks (~1 s).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${ONNXQ_DEPS:-$ROOT/.deps}
ORT_VERSION=1.30.0
ORT_SHA256=${ORT_SHA256:-ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23}
say() { [ -n "${QUIET_SETUP:-}" ] || echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates curl
  libprotobuf-dev protobuf-compiler libonnx-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libyaml-cpp-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libstb-dev libpng-dev libjpeg-dev zlib1g-dev
  python3 python3-dev python3-numpy python3-pytest pybind11-dev python3-setuptools python3-pip
  clang libclang-rt-14-dev
  chromium
)

# ---- 1. Debian packages -------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come from Debian or from a Node.js distribution that conflicts with Debian's npm: take either.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}); run this script as root once"
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install failed"
fi

mkdir -p "$DEPS"
# ---- 2. ONNX Runtime shared library (npm onnxruntime-node) ------------------------------------------
ORT_LIB_DIR=$DEPS/onnxruntime/lib
if [ ! -f "$ORT_LIB_DIR/libonnxruntime.so.1" ] || \
   [ "$(sha256sum "$ORT_LIB_DIR/libonnxruntime.so.1" | cut -d' ' -f1)" != "$ORT_SHA256" ]; then
  say "fetching onnxruntime-node@$ORT_VERSION from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null) || die "npm pack onnxruntime-node@$ORT_VERSION failed"
  tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1 \
    || die "libonnxruntime.so.1 not found in the npm package"
  got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
  [ "$got" = "$ORT_SHA256" ] || die "libonnxruntime.so.1 sha256 is $got, expected $ORT_SHA256"
  mkdir -p "$ORT_LIB_DIR"
  install -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$ORT_LIB_DIR/libonnxruntime.so.1.tmp"
  mv "$ORT_LIB_DIR/libonnxruntime.so.1.tmp" "$ORT_LIB_DIR/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$ORT_LIB_DIR/libonnxruntime.so"
  rm -rf "$tmp"; trap - EXIT
fi

# ---- 3. ONNX Runtime headers (Debian trixie libonnxruntime-dev) ----------------------------------
ORT_INC_DIR=$DEPS/onnxruntime/include
if [ ! -f "$ORT_INC_DIR/onnxruntime_cxx_api.h" ]; then
  say "fetching libonnxruntime-dev headers from Debian trixie"
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit} }' /etc/apt/sources.list)
  fi
  [ -n "$mirror" ] || die "cannot find the Debian mirror in /etc/apt/sources.list(.d)"
  apt_dir=$DEPS/apt-trixie
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt_dir/sources.list"
  apt_opts=(-oDir::Etc::SourceList="$apt_dir/sources.list" -oDir::Etc::SourceParts=/dev/null
            -oDir::State::Lists="$apt_dir/lists" -oDir::Cache="$apt_dir/cache" -oAPT::Sandbox::User=root
            -oDebug::NoLocking=1 -qq)
  apt-get "${apt_opts[@]}" update || die "apt-get update of the private trixie source failed"
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download libonnxruntime-dev) || die "apt-get download libonnxruntime-dev failed"
  rm -rf "$apt_dir/x"
  dpkg -x "$apt_dir"/debs/libonnxruntime-dev_*.deb "$apt_dir/x"
  hdr=$(dirname "$(find "$apt_dir/x" -name onnxruntime_cxx_api.h | head -1)")
  [ -n "$hdr" ] && [ -d "$hdr" ] || die "onnxruntime_cxx_api.h not found in libonnxruntime-dev"
  rm -rf "$ORT_INC_DIR.tmp"; mkdir -p "$ORT_INC_DIR.tmp"
  cp -r "$hdr"/. "$ORT_INC_DIR.tmp/"
  rm -rf "$ORT_INC_DIR"; mv "$ORT_INC_DIR.tmp" "$ORT_INC_DIR"
  rm -rf "$apt_dir/x" "$apt_dir/lists" "$apt_dir/cache"
fi
say "ready: ONNX Runtime $ORT_VERSION in $DEPS/onnxruntime"
