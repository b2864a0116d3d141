#!/bin/sh
# What the dashboard's browser tests need from the system: Debian's Chromium (driven by Playwright's
# Python package, which comes from pyproject's `dev` extra; no browser download from a CDN).
# Idempotent: installs only what is missing. Run as root (CI) or with sudo.
set -eu
if command -v chromium >/dev/null 2>&1; then
    echo "chromium: $(chromium --version 2>/dev/null || echo present)"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
chromium --version
