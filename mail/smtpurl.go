package mail

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/sigra-go/sigra"
)

// ParseSMTPURL reads an SMTP server's settings from one URL, as an
// application reads them from a flag or an environment variable:
//
//	smtp://user:password@smtp.example.com:587?from=noreply@example.com
//	smtps://user:password@smtp.example.com?from=noreply@example.com&from_name=Example
//	smtp://127.0.0.1:1025?from=dev@example.com&tls=none
//
// The scheme "smtp" uses STARTTLS (required) and "smtps" implicit TLS;
// "tls=none" asks for InsecureNoTLS, which [NewSMTP] accepts only for a
// loopback host. The user and password are optional and percent-decoded;
// from is required. Errors wrap [sigra.ErrConfig] and never contain the
// password.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	bad := func(format string, args ...any) (SMTPConfig, error) {
		return SMTPConfig{}, fmt.Errorf("%w: mail: SMTP URL: %s", sigra.ErrConfig, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a URL")
	}
	var cfg SMTPConfig
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		cfg.TLS = StartTLS
	case "smtps":
		cfg.TLS = ImplicitTLS
	default:
		return bad("scheme %q: want smtp or smtps", u.Scheme)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return bad("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return bad("port %q", p)
		}
		cfg.Port = n
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "from", "from_name", "tls", "helo":
		default:
			return bad("unknown parameter %q (want from, from_name, tls, helo)", k)
		}
	}
	cfg.From = q.Get("from")
	if cfg.From == "" {
		return bad("the from parameter (the sender's address) is required")
	}
	cfg.FromName = q.Get("from_name")
	cfg.HELO = q.Get("helo")
	switch strings.ToLower(q.Get("tls")) {
	case "":
	case "starttls":
		cfg.TLS = StartTLS
	case "implicit":
		cfg.TLS = ImplicitTLS
	case "none":
		cfg.TLS = InsecureNoTLS
	default:
		return bad("tls=%q: want starttls, implicit or none", q.Get("tls"))
	}
	return cfg, nil
}
