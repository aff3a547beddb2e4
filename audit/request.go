package audit

import (
	"context"
	"net"
	"net/http"

	"github.com/sigra-go/sigra"
)

type requestKey struct{}

// request is what WithRequest keeps: already cleaned and bounded.
type request struct {
	ip, userAgent, impersonator string
}

// WithRequest returns a copy of ctx carrying the request metadata that
// [Logger.Record] puts on every event it records with that context, so
// handlers need not pass them each time:
//
//   - the client address: clientIP, as the application determined it (for
//     example behind a trusted proxy); when empty, the host part of
//     r.RemoteAddr;
//   - the request's User-Agent header;
//   - the impersonating administrator of the [sigra.Auth] in ctx, or else
//     in r's context, if any. Record also looks at the Auth in its own
//     context first, so the order of middleware does not matter.
//
// A request that went through the session middleware carries the same
// facts in its [sigra.Client], which Record reads when ctx has no
// WithRequest value: a handler there needs no WithRequest.
//
// Values come from the client, so they are cleaned: invalid UTF-8 becomes
// U+FFFD, control characters are dropped, and the address and user agent
// are cut to MaxIPLen and MaxUserAgentLen bytes. A nil r records only
// clientIP and the impersonator.
func WithRequest(ctx context.Context, r *http.Request, clientIP string) context.Context {
	ip, ua := clientIP, ""
	imp := sigra.AuthFrom(ctx).Impersonator
	if r != nil {
		if ip == "" {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				ip = host
			} else {
				ip = r.RemoteAddr
			}
		}
		ua = r.UserAgent()
		if imp == "" {
			imp = sigra.AuthFrom(r.Context()).Impersonator
		}
	}
	return context.WithValue(ctx, requestKey{}, request{
		ip:           clean(ip, MaxIPLen),
		userAgent:    clean(ua, MaxUserAgentLen),
		impersonator: imp,
	})
}

// fromContext returns the request metadata stored by WithRequest (or
// WithClient); without any, the request's [sigra.Client] as the session
// middleware recorded it, cleaned as WithRequest cleans; else empty
// strings. A WithRequest value in ctx comes after the Client in the
// request's chain, so it wins.
func fromContext(ctx context.Context) (ip, userAgent, impersonator string) {
	if rq, ok := ctx.Value(requestKey{}).(request); ok {
		return rq.ip, rq.userAgent, rq.impersonator
	}
	if c := sigra.ClientFrom(ctx); c != nil {
		return clean(c.IP, MaxIPLen), clean(c.UserAgent, MaxUserAgentLen), c.Impersonator
	}
	return "", "", ""
}

// RequestInfo returns the client address and user agent stored by
// WithRequest (cleaned as described there), or empty strings. Flows use it
// for the "was this you?" details of notice emails.
func RequestInfo(ctx context.Context) (ip, userAgent string) {
	ip, userAgent, _ = fromContext(ctx)
	return ip, userAgent
}

// WithClient returns a copy of ctx carrying a client address and user
// agent recorded earlier (by [RequestInfo] in the request), for work done
// on a request's behalf after it was answered, such as a queued job. They
// are cleaned as WithRequest cleans them.
func WithClient(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, requestKey{}, request{ip: clean(ip, MaxIPLen), userAgent: clean(userAgent, MaxUserAgentLen)})
}
