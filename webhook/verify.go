package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery, as Standard Webhooks names them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix begins every secret written as a string: "whsec_" and the
// base64 of the key's bytes.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a delivery's webhook-timestamp may be from
// the receiver's clock, either way, when [Verify] is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Secret sizes: New secrets have secretSize bytes; Verify and Sign accept
// MinSecretBytes to MaxSecretBytes (the range Standard Webhooks allows).
const (
	secretSize     = 32
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// Errors of [Verify] and [Sign]. Test with errors.Is; every error of
// Verify wraps ErrVerify as well.
var (
	// ErrVerify is wrapped by every error of Verify: the request is not a
	// genuine, fresh delivery and must be refused.
	ErrVerify = errors.New("sigra/webhook: verification failed")
	// ErrHeader: a webhook header is missing or malformed.
	ErrHeader = errors.New("sigra/webhook: missing or malformed webhook header")
	// ErrTimestamp: webhook-timestamp is outside the tolerance.
	ErrTimestamp = errors.New("sigra/webhook: timestamp outside the tolerance")
	// ErrSignature: no signature matches any of the secrets.
	ErrSignature = errors.New("sigra/webhook: no matching signature")
	// ErrSecret: a secret is not "whsec_" and the base64 of 24 to 64
	// bytes.
	ErrSecret = errors.New("sigra/webhook: malformed secret")
)

// verifyError wraps ErrVerify and the specific error.
type verifyError struct {
	err    error
	detail string
}

func (e *verifyError) Error() string {
	if e.detail == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.detail
}

func (e *verifyError) Unwrap() []error { return []error{ErrVerify, e.err} }

// newSecret returns a fresh random secret written "whsec_...".
func newSecret() (string, error) {
	b := make([]byte, secretSize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sigra/webhook: random secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// parseSecret decodes a secret written "whsec_<base64>" (or the base64
// alone).
func parseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrSecret)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d", ErrSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// sign returns the base64 HMAC-SHA256 of "id.timestamp.body" under key.
func sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the webhook-signature value of a delivery signed with
// secret ("whsec_..."): "v1," and the base64 HMAC-SHA256 of the id, the
// timestamp in Unix seconds and the body, joined by dots. It is what the
// worker sends, for receivers' tests. The error wraps [ErrSecret].
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + sign(key, id, timestamp.Unix(), body), nil
}

// Verify checks that a request is a genuine, fresh delivery: the
// webhook-signature header holds a "v1," signature (of the
// space-separated ones) made with one of secrets ("whsec_..." as
// returned by Subscribe or RotateSecret; during a rotation, pass both)
// over the webhook-id and webhook-timestamp headers and body, and the
// timestamp is within tolerance of now (DefaultTolerance when tolerance is
// zero or negative). body must be the raw request body, before any
// parsing. Signatures are compared in constant time.
//
// The error wraps [ErrVerify] and one of [ErrHeader], [ErrTimestamp],
// [ErrSignature] or [ErrSecret]. A receiver answers a refused request with
// 400 or 401 and ignores it; it uses webhook-id to ignore a delivery it
// has already processed (retries and replays carry the same id). Verify is
// safe for concurrent use.
func Verify(secrets []string, header http.Header, body []byte, tolerance time.Duration) error {
	return VerifyAt(secrets, header, body, tolerance, time.Now())
}

// VerifyAt is [Verify] with the receiver's clock reading given.
func VerifyAt(secrets []string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return &verifyError{err: ErrHeader, detail: "webhook-id, webhook-timestamp and webhook-signature are required"}
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return &verifyError{err: ErrHeader, detail: fmt.Sprintf("webhook-timestamp %q is not a number of seconds", tsText)}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return &verifyError{err: ErrTimestamp, detail: fmt.Sprintf("%v from now, tolerance %v", d.Round(time.Second), tolerance)}
	}
	if len(secrets) == 0 {
		return &verifyError{err: ErrSecret, detail: "no secret given"}
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := parseSecret(s)
		if err != nil {
			return &verifyError{err: err}
		}
		keys = append(keys, key)
	}
	for _, key := range keys {
		want := []byte(sign(key, id, ts, body))
		for sig := range strings.FieldsSeq(sigs) {
			version, value, ok := strings.Cut(sig, ",")
			if ok && version == "v1" && hmac.Equal([]byte(value), want) {
				return nil
			}
		}
	}
	return &verifyError{err: ErrSignature}
}
