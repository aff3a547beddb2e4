package ui

import "github.com/sigra-go/sigra/site"

// NewUnfolded is New without the folding of the templates' constants,
// the trimming of each set and the sharing of nodes (see build), for the
// tests that compare both.
func NewUnfolded(s *site.Site, cfg Config) (*UI, error) { return build(s, cfg, false) }
