//go:build !race

package password

// raceEnabled reports whether the race detector is on; it slows Argon2
// several times over.
const raceEnabled = false
