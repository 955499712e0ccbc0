#!/usr/bin/env bash
# Install the Debian dovecot packages the mail tests run a private IMAP/LMTP server from.
# Idempotent: does nothing when dovecot, doveadm and the imap/lmtp binaries are already there.
set -euo pipefail

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 \
        && command -v doveadm >/dev/null 2>&1 \
        && [ -x /usr/lib/dovecot/imap ] \
        && [ -x /usr/lib/dovecot/lmtp ]
}

if have_dovecot; then
    echo "dovecot already installed: $(dovecot --version)"
    exit 0
fi

packages=(dovecot-imapd dovecot-lmtpd)
if [ "$(id -u)" -eq 0 ]; then
    run_as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run_as_root=(sudo -n)
else
    echo "dovecot is missing and this script cannot become root (not root, no password-less sudo)." >&2
    echo "Install it yourself: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${run_as_root[@]}" apt-get update
"${run_as_root[@]}" apt-get install -y --no-install-recommends "${packages[@]}"

if ! have_dovecot; then
    echo "apt-get finished but dovecot is still not usable" >&2
    exit 1
fi
echo "dovecot installed: $(dovecot --version)"
