# Shared by tools/run and tools/test: install what is missing (Debian 12 packages
# only, apt-get only when something is missing) and configure a build directory.
# shellcheck shell=bash

HOOKD_PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libsimdjson-dev libssl-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ca-certificates curl
  python3 python3-yaml python3-jsonschema
)

hookd_install_missing() {
  local missing=()
  local p
  for p in "${HOOKD_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "hookd: installing missing packages: ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
}

# hookd_configure BUILD_DIR [cmake args...]
hookd_configure() {
  local dir=$1
  shift
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cmake -S "$root" -B "$root/$dir" -G Ninja "$@" >/dev/null
}
