package mfa

import (
	"slices"
	"strings"
)

// FormsCheck returns the routes mounted so far that take a body but have
// no schema, and the schemas of no mounted route (see kernel.FormsCheck).
func (m *MFA) FormsCheck() (unschemed, unused []string) { return m.k.FormsCheck() }

// FormPaths returns the paths of the routes with a schema, sorted.
func FormPaths() []string {
	var paths []string
	for route := range forms() {
		_, path, _ := strings.Cut(route, " ")
		paths = append(paths, path)
	}
	slices.Sort(paths)
	return paths
}
