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

# The portal's browser test (tests/portal): Debian's Chromium, a font to render with,
# Node.js with npm, and puppeteer-core from the npm registry at the version
# tests/portal/package-lock.json pins (installed in tests/portal/node_modules, again only
# when the lock file changed). A Node.js already on the machine is used as it is
# (Debian's nodejs and npm are installed only when there is none): puppeteer-core
# 24 runs on Node.js 18, Debian 12's, and later.
hookd_install_browser_test() {
  HOOKD_PACKAGES+=(chromium fonts-dejavu-core)
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    HOOKD_PACKAGES+=(nodejs npm)
  fi
  hookd_install_missing
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local dir=$root/tests/portal
  local lock
  lock=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$dir/node_modules/.hookd-lock" 2>/dev/null)" != "$lock" ]; then
    echo "hookd: installing the browser test's npm packages (tests/portal)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock" >"$dir/node_modules/.hookd-lock"
  fi
}

# hookd_configure BUILD_DIR [cmake args...]
hookd_configure() {
  local dir=$1
  shift
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cmake -S "$root" -B "$root/$dir" -G Ninja "$@" >/dev/null
}
