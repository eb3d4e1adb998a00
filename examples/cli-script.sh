#!/bin/sh
# Scripting with the wavesock command: stand up a test server, pipe lines
# through the client, and tell from the exit code how the connection ended.
#
#   npm run build && sh examples/cli-script.sh
#   WAVESOCK="npx wavesock" sh examples/cli-script.sh      # an installed wavesock
#
# Exit codes of `wavesock ws://...` (docs/cli.md): 0 normal close, 1 could not
# connect, 2 usage error, 3 closed with another code, 4 connection lost (1006).
set -eu

here=$(dirname "$0")
WAVESOCK=${WAVESOCK:-"node $here/../dist/cli/main.js"}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# An echo server on a free port; it prints "listening on ws://HOST:PORT ..." first.
$WAVESOCK serve --echo --port 0 >"$log" &
server=$!
until grep -q '^listening on ' "$log"; do
  kill -0 "$server" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^listening on \(ws:[^ ]*\).*/\1/p' "$log")
echo "server: $url"

# Every line is sent as a text message; the replies come back one per line.
# After the input ends the client waits until the server has been quiet for
# --wait ms (default 1000), then closes with 1000.
printf 'hello\nworld\n' | $WAVESOCK --wait 300 "$url/demo" | sed 's/^/reply: /'

# How did it end? (`|| status=$?` keeps `set -e` from stopping the script.)
status=0
$WAVESOCK "ws://127.0.0.1:1/" </dev/null 2>/dev/null || status=$?
case $status in
  0) echo "port 1: closed normally" ;;
  1) echo "port 1: could not connect (exit 1)" ;;
  *) echo "port 1: exit $status" ;;
esac

# Ctrl-C (SIGINT) closes every connection with 1001 and stops the server cleanly.
kill -INT "$server"
wait "$server"
echo "server stopped (exit $?)"
