#!/usr/bin/env bash
# A small built-in example: three folders with edits, a rename, a deletion and a conflict,
# synced by ferry; prints what happened and where the losing version of the conflict went.
set -euo pipefail
ferry() { node "$(dirname "$0")/../dist/ferry.mjs" "$@"; }
demo=$(mktemp -d /tmp/ferry-demo.XXXXXX)
echo "demo folders in $demo"
mkdir -p "$demo/laptop/notes" "$demo/desktop" "$demo/usb"
echo "groceries: milk" > "$demo/laptop/notes/todo.txt"
echo "draft 1" > "$demo/laptop/notes/essay.md"
echo "photo bytes" > "$demo/desktop/cat.jpg"

echo; echo "== first sync: everything everywhere"
ferry sync -v "$demo/laptop" "$demo/desktop" "$demo/usb" || true

echo; echo "== edit the same file on two machines, rename one, delete one"
echo "groceries: milk, eggs" > "$demo/laptop/notes/todo.txt"
echo "groceries: bread" > "$demo/desktop/notes/todo.txt"
mv "$demo/usb/notes/essay.md" "$demo/usb/notes/essay-final.md"
rm "$demo/desktop/cat.jpg"
ferry sync -v "$demo/laptop" "$demo/desktop" "$demo/usb" || echo "(exit $?: a conflict was kept as a copy, see above)"

echo; echo "== every root now holds:"
(cd "$demo/usb" && find . -path ./.ferry -prune -o -type f -print | sort)
echo; echo "== nothing was lost: replaced and deleted files are in .ferry/history"
(cd "$demo/laptop" && find .ferry/history -type f | sort)
echo; echo "== status of one root"
ferry status "$demo/laptop"
echo; echo "== a second run has nothing to do"
ferry sync "$demo/laptop" "$demo/desktop" "$demo/usb"
