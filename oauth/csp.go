package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// The pages whose forms start a handshake (the provider buttons) answer
// with the Content-Security-Policy the security headers set, its
// form-action directive widened to the providers' authorization
// endpoints: a browser applies form-action to the redirects that follow
// a form's submission, so "form-action 'self'" would stop the start
// form's redirect to the provider. Nothing else in the policy changes.

// allowProviders adds the authorization origins of ps to the form-action
// directive of the response's policy, when it has one. A provider whose
// endpoints cannot be discovered now is left out (its start answers 503).
func (o *OAuth) allowProviders(ctx context.Context, w http.ResponseWriter, ps []*provider) {
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		return
	}
	var origins []string
	for _, p := range ps {
		rd, err := p.get(ctx)
		if err != nil {
			o.k.LogFailure(ctx, "provider discovery failed", err, "provider", p.Name)
			continue
		}
		if u, err := url.Parse(rd.authURL); err == nil && u.Scheme != "" && u.Host != "" {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	h.Set("Content-Security-Policy", widenFormAction(csp, origins))
}

// widenFormAction returns csp with origins added to its form-action
// directive. A policy without one, or whose form-action allows any
// source, is returned as it is.
func widenFormAction(csp string, origins []string) string {
	if len(origins) == 0 {
		return csp
	}
	parts := strings.Split(csp, ";")
	for i, part := range parts {
		fields := strings.Fields(part)
		if len(fields) == 0 || !strings.EqualFold(fields[0], "form-action") {
			continue
		}
		for _, f := range fields[1:] {
			if f == "*" {
				return csp
			}
			if f == "'none'" {
				return csp // the application forbids every form: keep it so
			}
		}
		for _, o := range origins {
			seen := false
			for _, f := range fields[1:] {
				seen = seen || f == o
			}
			if !seen {
				fields = append(fields, o)
			}
		}
		lead := ""
		if strings.HasPrefix(part, " ") {
			lead = " "
		}
		parts[i] = lead + strings.Join(fields, " ")
		return strings.Join(parts, ";")
	}
	return csp
}
