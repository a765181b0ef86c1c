//go:build tools

package keyring

// The Wycheproof vectors are read from the module cache (see loadWycheproof) rather than embedded, so no build
// imports the module; this import, which no build tag of a normal build selects, keeps its requirement in go.mod
// through `go mod tidy`.
import _ "github.com/c2sp/wycheproof"
