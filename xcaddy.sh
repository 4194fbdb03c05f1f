#!/usr/bin/env bash
# ./xcaddy.sh build|run|test|bench [shared|one-core] — Caddy with this plugin, built by xcaddy.
set -euo pipefail
cd "$(dirname "$0")"

CADDY_VERSION="${CADDY_VERSION:-v2.11.9}"
XCADDY="github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5"
MODULE="github.com/c0f4626f/caddy-session"

# The module proxy refuses (403) module paths it does not serve, such as this
# unpublished one; "|" separators and a final "off" let the lookup fall
# through to the local replacement instead of failing.
goproxy() { echo "$(go env GOPROXY | sed 's/,direct$//; s/,/|/g')|off"; }

build() {
	GOPROXY="$(goproxy)" go run "$XCADDY" build "$CADDY_VERSION" --with "$MODULE=." --output ./caddy
	./caddy list-modules --skip-standard
}

# Tests keep Caddy's data and config out of $HOME.
test_env() {
	local dir
	dir="$(mktemp -d)"
	export XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config"
}

case "${1:-}" in
build)
	build
	;;
run)
	build
	exec ./caddy run --config caddyfile.example --adapter caddyfile
	;;
test)
	build
	test_env
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	test -z "$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting" >&2; exit 1; }
	CADDY_BIN="$PWD/caddy" go test -race -count=1 -timeout 30m ./...
	;;
bench)
	# bench [shared|one-core] [flags of go run ./bench]: shared (the default)
	# runs the Go benchmarks (request path, store), then the side-by-side
	# HTTP load on the shared cores; one-core runs the HTTP load with Caddy
	# alone on one core (add -profile DIR for CPU and allocation profiles).
	shift
	mode="${1:-shared}"
	shift || true
	build
	test_env
	command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; }
	case "$mode" in
	shared)
		go test -run '^$' -bench 'ServeHTTP|StoreUpdates' -skip LiveRate -benchmem -count=3 ./sessionstore ./caddymodule
		# At the rate one core serves live (-live-rate), so that the group
		# commit and GC weigh per request what they weigh live.
		go test -run '^$' -bench LiveRate -cpu 1 -benchtime 5s -benchmem -count=3 ./caddymodule
		go test -run '^$' -bench 'PointReads1M|GCUnderLoad|Memory1M' -benchtime 1x -count=1 -timeout 30m ./sessionstore
		go run ./bench -caddy ./caddy "$@"
		;;
	one-core)
		go run ./bench -caddy ./caddy -mode one-core "$@"
		;;
	*)
		echo "usage: $0 bench [shared|one-core] [bench flags]" >&2
		exit 2
		;;
	esac
	;;
*)
	echo "usage: $0 build|run|test|bench" >&2
	exit 2
	;;
esac
