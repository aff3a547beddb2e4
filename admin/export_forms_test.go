package admin

// FormsCheck returns the routes mounted so far that take a body but have
// no schema, and the schemas of no mounted route (see kernel.FormsCheck).
func (c *Console) FormsCheck() (unschemed, unused []string) { return c.k.FormsCheck() }
