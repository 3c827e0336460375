# iexbox build and test entry points. `make test` is what CI runs (.ci/run).
export PATH := /usr/local/go/bin:$(PATH)
SHELL := /bin/bash
# Targets below have side effects (dockerd, apt) that must happen in order.
.NOTPARALLEL:

ARGS ?=
WEB_SRC := static/package.json $(wildcard static/package-lock.json) static/build.mjs $(shell find static/src -type f 2>/dev/null)
# Every bundle static/build.mjs writes and the server serves (static.Built).
WEB_OUT := static/dist/app.js static/dist/app.css static/dist/embed.js static/dist/embed-term.js static/dist/frame.js static/dist/replay.js static/dist/replay.css static/dist/teach.js static/dist/teach.css

.PHONY: docker gvisor image toolchains kube web build run vet unit e2e chromium proxies postgres asciinema test bench clean

# Start (and if needed install) Docker Engine.
docker:
	scripts/docker-up.sh

# gVisor's runsc, built from the Go module proxy and registered with dockerd:
# the default -runtime auto uses it wherever it works.
gvisor: docker
	scripts/gvisor-up.sh

# Sandbox image; build.sh skips the work when the inputs' hash is unchanged.
image: docker
	sandbox-image/build.sh

# The images of the toolchains in toolchains/ (docs/toolchains.md), each
# named by its content hash: built only when missing (.debs cached by suite
# in /var/cache/iexbox-debs), then each checked in a real sandbox.
toolchains: build image
	./bin/iexbox toolchains toolchains -runtime runc

# A real single-node Kubernetes cluster (runc and gVisor) with the sandbox
# image imported; builds are cached in /var/cache/iexbox-kube (about 8
# minutes cold, seconds warm). scripts/kube-down.sh stops it.
kube: image toolchains gvisor
	scripts/kube-up.sh

# The page's and the widget's bundles; npm runs when one is missing or a
# source is newer than one of them. One run of the recipe writes them all.
web: $(WEB_OUT)

$(WEB_OUT) &: $(WEB_SRC)
	cd static && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	  else npm install --no-audit --no-fund; fi && npm run build
	ls $(WEB_OUT) >/dev/null && touch $(WEB_OUT)

build: web
	CGO_ENABLED=0 go build -ldflags "-X main.buildVersion=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/iexbox ./cmd/iexbox

run: build image gvisor
	./bin/iexbox $(ARGS)

vet:
	go vet ./...

# -race needs cgo, hence no CGO_ENABLED=0 here. The store's tests run
# against SQLite and the PostgreSQL test cluster.
unit:
	IEXBOX_TEST_POSTGRES=$$(scripts/postgres-up.sh) go test -race -count=1 $$(go list ./... | grep -v /e2e)

chromium:
	scripts/chromium-up.sh

# Debian's HAProxy and nginx, which the proxy tests run on ports of their own
# (never as system services).
proxies:
	scripts/proxies-up.sh

# Debian's PostgreSQL, a test cluster of its own on 127.0.0.1:55432
# (never the system service); prints its URL.
postgres:
	scripts/postgres-up.sh >/dev/null

# Debian's asciinema, which plays the recordings the e2e tests make.
asciinema:
	scripts/asciinema-up.sh

# Browser tests drive bin/iexbox in headless Chromium against real containers.
# Then the security suite once more, every session in the example toolchain
# under gVisor (forky's newer OTP behind the same walls).
e2e: build image toolchains gvisor chromium kube proxies postgres asciinema
	IEXBOX_TEST_POSTGRES=$$(scripts/postgres-up.sh) go test -count=1 -timeout 40m -v ./e2e/...
	IEXBOX_E2E_TOOLCHAIN=parsing IEXBOX_E2E_RUNTIMES=runsc go test -count=1 -timeout 20m -v \
	  -run '^(TestAttacks|TestNoExecInWritableDirs)$$' ./e2e/

test: vet unit e2e

# The benchmark of docs/benchmarks.md on both runtimes (about 45 minutes); not
# part of test. ARGS go to iexbench, e.g. make bench ARGS="-only prompt".
bench: build image gvisor
	scripts/bench.sh $(ARGS)

# Keep static/dist/README.txt: it is committed so the go:embed pattern always matches.
clean:
	rm -rf bin bench-out $(WEB_OUT)
