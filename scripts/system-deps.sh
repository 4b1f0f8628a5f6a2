#!/usr/bin/env bash
# Install the Debian packages Accord's tests and services rely on, only when they are missing.
# Usage: scripts/system-deps.sh PACKAGE...   (known: openjdk-17-jre-headless postgresql chromium python3-venv)
set -euo pipefail

present() {
  case "$1" in
    openjdk-17-jre-headless) [ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || [ -x /usr/lib/jvm/java-17-openjdk-arm64/bin/java ] ;;
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
    chromium) command -v chromium >/dev/null ;;
    python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null ;;
    *) dpkg -s "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for pkg in "$@"; do
  present "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "error: missing ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
    exit 2
  fi
else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pkg in "${missing[@]}"; do
  present "$pkg" || { echo "error: $pkg still missing after apt-get install" >&2; exit 2; }
done
