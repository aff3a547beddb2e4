package password

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
)

// BreachChecker tells whether a password is known from data breaches.
// Implementations must be safe for concurrent use.
type BreachChecker interface {
	// BreachCount returns how many times password appears in the breach
	// corpus; 0 if it does not. An error means the answer is unknown.
	BreachCount(ctx context.Context, password string) (int, error)
}

// ErrBreachCheck: the breach service could not be asked or gave an answer
// that could not be read.
var ErrBreachCheck = errors.New("sigra/password: breach check failed")

// Defaults of RangeConfig.
const (
	DefaultRangeBaseURL     = "https://api.pwnedpasswords.com"
	DefaultRangeTimeout     = 3 * time.Second
	DefaultRangeMaxResponse = 1 << 20
	DefaultRangeUserAgent   = "sigra-go-password"
)

// RangeConfig configures a RangeClient. The zero value asks the Have I
// Been Pwned Pwned Passwords service.
type RangeConfig struct {
	// BaseURL is the service's base URL; requests go to
	// {BaseURL}/range/{prefix}. Default DefaultRangeBaseURL.
	BaseURL string
	// HTTPClient sends the requests. Default: a client of its own with
	// Timeout as its timeout.
	HTTPClient *http.Client
	// Timeout bounds each request, whichever client is used. Default 3s.
	Timeout time.Duration
	// MaxResponseBytes bounds the size of a response body; a larger one is
	// an error. Default 1 MiB (a padded answer is about 40 KB).
	MaxResponseBytes int64
	// UserAgent is sent with each request. Default "sigra-go-password".
	UserAgent string
	// DisablePadding stops asking for padded answers. By default requests
	// carry "Add-Padding: true", so the size of an answer does not reveal
	// the prefix; the padding lines (count 0) are ignored.
	DisablePadding bool
}

// RangeClient is a BreachChecker for k-anonymity range APIs compatible with
// Pwned Passwords: it sends only the first five hexadecimal characters of
// the password's SHA-1 and looks for the other 35 in the answer, lines of
// "SUFFIX:COUNT". Neither the password nor its full hash leaves the
// process. It is safe for concurrent use.
type RangeClient struct {
	base      string
	client    *http.Client
	timeout   time.Duration
	max       int64
	userAgent string
	padding   bool
}

var _ BreachChecker = (*RangeClient)(nil)

// NewRangeClient returns a RangeClient for cfg, with defaults filled in, or
// an error wrapping sigra.ErrConfig.
func NewRangeClient(cfg RangeConfig) (*RangeClient, error) {
	c := &RangeClient{
		base:      strings.TrimSuffix(cfg.BaseURL, "/"),
		client:    cfg.HTTPClient,
		timeout:   cfg.Timeout,
		max:       cfg.MaxResponseBytes,
		userAgent: cfg.UserAgent,
		padding:   !cfg.DisablePadding,
	}
	if c.base == "" {
		c.base = DefaultRangeBaseURL
	}
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: password: RangeConfig.BaseURL %q is not an http(s) URL without query", sigra.ErrConfig, cfg.BaseURL)
	}
	switch {
	case c.timeout < 0:
		return nil, fmt.Errorf("%w: password: negative RangeConfig.Timeout", sigra.ErrConfig)
	case c.timeout == 0:
		c.timeout = DefaultRangeTimeout
	}
	switch {
	case c.max < 0:
		return nil, fmt.Errorf("%w: password: negative RangeConfig.MaxResponseBytes", sigra.ErrConfig)
	case c.max == 0:
		c.max = DefaultRangeMaxResponse
	}
	if c.userAgent == "" {
		c.userAgent = DefaultRangeUserAgent
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: c.timeout}
	}
	return c, nil
}

// BreachCount implements BreachChecker. Errors wrap ErrBreachCheck.
func (c *RangeClient) BreachCount(ctx context.Context, password string) (int, error) {
	sum := sha1.Sum([]byte(password))
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:5], digest[5:]

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/range/"+prefix, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBreachCheck, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.padding {
		req.Header.Set("Add-Padding", "true")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBreachCheck, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: status %s", ErrBreachCheck, resp.Status)
	}
	if resp.ContentLength > c.max {
		return 0, fmt.Errorf("%w: response of %d bytes exceeds %d", ErrBreachCheck, resp.ContentLength, c.max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		return 0, fmt.Errorf("%w: reading response: %w", ErrBreachCheck, err)
	}
	if int64(len(body)) > c.max {
		return 0, fmt.Errorf("%w: response exceeds %d bytes", ErrBreachCheck, c.max)
	}
	count, err := parseRange(body, suffix)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBreachCheck, err)
	}
	return count, nil
}

// errMalformedRange: a range answer has a line that is not SUFFIX:COUNT.
var errMalformedRange = errors.New("malformed range response")

// parseRange reads a range answer: lines of a 35-hex-digit SHA-1 suffix, a
// colon and a decimal count, separated by LF or CRLF; empty lines are
// skipped. It returns the count on the line whose suffix equals suffix
// (case-insensitively), or 0 if none; padding lines carry a count of 0 and
// so never count as a match. Any malformed line makes the whole answer an
// error: a garbled answer must not read as "not breached".
func parseRange(body []byte, suffix string) (int, error) {
	count := 0
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if len(line) < 37 || len(line) > 46 || line[35] != ':' || !isHex(line[:35]) {
			return 0, fmt.Errorf("%w: line %d", errMalformedRange, n)
		}
		digits := line[36:]
		for _, d := range digits {
			if d < '0' || d > '9' {
				return 0, fmt.Errorf("%w: line %d: count is not a number", errMalformedRange, n)
			}
		}
		v, err := strconv.Atoi(string(digits))
		if err != nil {
			return 0, fmt.Errorf("%w: line %d: count out of range", errMalformedRange, n)
		}
		if v > count && strings.EqualFold(string(line[:35]), suffix) {
			count = v
		}
	}
	return count, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
