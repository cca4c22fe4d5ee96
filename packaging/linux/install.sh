#!/bin/sh
# Adds SAM Labeler to this user's desktop: the menu entry, the .samlabel file type (double-click opens
# the project) and the icons, in ~/.local/share (XDG_DATA_HOME). Nothing is written outside it.
# Run it from the unpacked bundle; run it again after moving the bundle. ./uninstall.sh removes it all.
set -e
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/sam-labeler" desktop install --exec "$here/sam-labeler" "$@"
