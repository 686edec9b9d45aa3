#!/usr/bin/env bash
# Installs what r1.cpp needs to build and test on Debian 12 (bookworm), skipping what is already there.
# Debian packages only (main); run as root or with sudo available. Safe to run again.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  nodejs npm
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from elsewhere (nvm, nodesource): accept any working npm.
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  tmp=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The client and browser tests use npm packages (playwright-core, @huggingface/gguf) that need Node.js >= 20.
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((major < 20)); then
    echo "install-deps: warning: Node.js $(node --version) is older than 20; the server client/browser tests and" \
      "the GGUF cross-check need Node.js >= 20 (Debian 12's own nodejs is 18)" >&2
  fi
fi
