// Package sandboximage embeds the recipe of the sandbox image, so that
// `iexbox toolchains` builds every toolchain's image with the same
// hardening as the default one, from wherever it runs.
package sandboximage

import _ "embed"

// BuildScript is build.sh: it builds one image from Debian packages (see
// its header for the environment it reads).
//
//go:embed build.sh
var BuildScript []byte
