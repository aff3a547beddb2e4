package passkey

// FormsCheck returns the routes mounted so far that take a body but have
// no schema, and the schemas of no mounted route (see kernel.FormsCheck).
func (p *Passkeys) FormsCheck() (unschemed, unused []string) { return p.k.FormsCheck() }
