#!/bin/sh
# Removes what install.sh added to this user's desktop (files changed since are left and listed).
set -e
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/sam-labeler" desktop uninstall "$@"
