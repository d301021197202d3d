#!/bin/sh
# Build /opt/go-cache: `go test` on a package importing every standard package that needs no
# cgo (there is no C compiler here), so that the cache holds their vet results, which Go
# keeps in the build cache, not in GOROOT. Same environment as in sandboxes (the image's ENV).
set -eu
work=$(mktemp -d)
cd "$work"
printf 'module warm\n\ngo 1.19\n' > go.mod
packages=$(/usr/bin/go list -f '{{.ImportPath}} {{join .Deps " "}}' std \
    | grep -v -w 'runtime/cgo' | cut -d' ' -f1 | grep -v -E 'internal|^cmd/|vendor')
{ echo 'package warm'; echo 'import ('
  for p in $packages; do echo "	_ \"$p\""; done
  echo ')'; } > warm.go
printf 'package warm\n\nimport "testing"\n\nfunc TestWarm(t *testing.T) {}\n' > warm_test.go
GOCACHE=/opt/go-cache /usr/bin/go test ./... >/dev/null
GOCACHE=/opt/go-cache /usr/bin/go clean -testcache  # results of this package are nobody's
chmod -R a+rX /opt/go-cache
cd / && rm -rf "$work" /tmp/go-path
