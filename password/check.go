package password

// CheckHash reports whether [Hasher.Verify] would verify the stored hash
// encoded, without computing anything: it parses encoded with the parser
// Verify uses and checks its cost against [Config.Limits] (and, for a
// wrapped legacy digest, [Config.AllowWrapped]). It returns the name of the
// format: "argon2id", "argon2i", "bcrypt", "pbkdf2_sha256", "pbkdf2_sha1",
// "better-auth scrypt" or "sigra-wrap", with "django " before the name of
// Django's argon2, bcrypt and bcrypt_sha256 forms (as in "django
// bcrypt_sha256"). Errors are those of Verify for the same hash: wrapping
// [ErrMalformedHash] or [ErrUnsupportedHash], and [ErrUnsafeHash] for an
// unsalted digest (which [Hasher.Wrap] can import). Use it to validate
// hashes brought in from another system before storing them. It is safe for
// concurrent use.
func (h *Hasher) CheckHash(encoded string) (format string, err error) {
	ph, err := parseHash(encoded)
	if err != nil {
		return "", err
	}
	if err := h.checkLimits(ph); err != nil {
		return "", err
	}
	if ph.django != "" {
		return "django " + ph.django, nil
	}
	return ph.kind.String(), nil
}
