package ui

import "github.com/sigra-go/sigra/site"

// NewUnfolded is New without the folding of the templates' constants, for
// the tests that compare both.
func NewUnfolded(s *site.Site, cfg Config) (*UI, error) { return build(s, cfg, false) }
