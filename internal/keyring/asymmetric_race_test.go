//go:build race

package keyring

// raceEnabled is set when the tests run under the race detector, where the pure-Go field arithmetic of P-384 and
// P-521 is so slow that the largest Wycheproof files run one vector in vectorStride (the full files run without
// -race).
const raceEnabled = true
