#!/bin/sh
# pip install of a hash-checked requirements file into /opt/venv, trusting EXTRA_CA_CERTS too.
set -eu
# Compose passes unset build args as empty strings: pip must not see those.
[ -n "${PIP_INDEX_URL:-}" ] || unset PIP_INDEX_URL
[ -n "${PIP_TRUSTED_HOST:-}" ] || unset PIP_TRUSTED_HOST
if [ -n "${EXTRA_CA_CERTS:-}" ]; then
    bundle=$(mktemp)
    cat "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" > "$bundle"
    printf '%s\n' "$EXTRA_CA_CERTS" >> "$bundle"
    export PIP_CERT="$bundle"
fi
/opt/venv/bin/python -m pip install --no-deps --require-hashes --requirement "$1"
