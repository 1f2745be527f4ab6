#!/usr/bin/env bash
# Make this machine able to run the kiosk and its tests: Debian libraries, uv, the locked venv.
# Safe to run again: every step checks first and does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's xcb platform (a real window) and offscreen platform, Xvfb for screenshots, fonts, zbar for pyzbar.
DEBIAN_PACKAGES=(
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1 libfontconfig1
  libdbus-1-3 fonts-dejavu-core xvfb xauth libzbar0
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ! command -v uv >/dev/null 2>&1 && [ ! -x .tools/bin/uv ] && ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    missing+=(python3-venv)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: these Debian packages are missing; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# uv: the one on PATH, else a private copy in .tools/ (pip into a venv, so PEP 668 systems are fine).
if command -v uv >/dev/null 2>&1; then
  UV=$(command -v uv)
elif [ -x .tools/bin/uv ]; then
  UV=.tools/bin/uv
else
  echo "bootstrap: installing uv into .tools/"
  python3 -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check uv
  UV=.tools/bin/uv
fi

"$UV" sync --locked --quiet
