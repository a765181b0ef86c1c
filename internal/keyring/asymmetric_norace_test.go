//go:build !race

package keyring

// raceEnabled: see asymmetric_race_test.go.
const raceEnabled = false
