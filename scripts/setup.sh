#!/usr/bin/env bash
# Idempotent developer/CI setup for lambda-sim:
#   * Debian packages needed to build (libuv, http-parser) and to run the demos/tests (curl, jq);
#   * a Python virtualenv in .venv with awslambdaric (Python runtime client), boto3 and awscli.
# Safe to run repeatedly: it only acts when something is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
packages=(libuv1-dev libhttp-parser-dev pkg-config curl jq)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        sudo=(sudo)
    fi
    log "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
    log "Debian packages present: ${packages[*]}"
fi

# --- Python virtualenv ---------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    log "creating Python virtualenv in .venv"
    python3 -m venv .venv
fi

if .venv/bin/python -c 'import awslambdaric, boto3, awscli' >/dev/null 2>&1; then
    log "Python packages present in .venv: awslambdaric boto3 awscli"
else
    log "installing Python packages into .venv: awslambdaric boto3 awscli"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check awslambdaric boto3 awscli
fi

log "done"
