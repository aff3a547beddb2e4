package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/webhook"
)

// The test vector published with the Standard Webhooks specification.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vectorID)
	h.Set(webhook.HeaderTimestamp, "1614265330")
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestStandardWebhooksVector(t *testing.T) {
	got, err := webhook.Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil || got != vectorSignature {
		t.Errorf("Sign: got %q, %v, want %q", got, err, vectorSignature)
	}
	now := time.Unix(vectorTimestamp, 0)
	if err := webhook.VerifyAt([]string{vectorSecret}, vectorHeader(vectorSignature), []byte(vectorBody), 0, now); err != nil {
		t.Errorf("VerifyAt: %v", err)
	}
	// Several signatures, space-separated: one match suffices.
	multi := "v1,bm90IHRoZSBzaWduYXR1cmU= v2,xyz " + vectorSignature
	if err := webhook.VerifyAt([]string{vectorSecret}, vectorHeader(multi), []byte(vectorBody), 0, now); err != nil {
		t.Errorf("VerifyAt(several signatures): %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorBody)
	other, err := webhook.Sign("whsec_"+strings.Repeat("A", 44), vectorID, now, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secrets []string
		header  http.Header
		body    string
		now     time.Time
		want    error
	}{
		{"altered body", []string{vectorSecret}, vectorHeader(vectorSignature), `{"test": 1}`, now, webhook.ErrSignature},
		{"other secret", []string{vectorSecret}, vectorHeader(other), vectorBody, now, webhook.ErrSignature},
		{"other version", []string{vectorSecret}, vectorHeader("v2," + strings.TrimPrefix(vectorSignature, "v1,")), vectorBody, now, webhook.ErrSignature},
		{"too old", []string{vectorSecret}, vectorHeader(vectorSignature), vectorBody, now.Add(5*time.Minute + time.Second), webhook.ErrTimestamp},
		{"too new", []string{vectorSecret}, vectorHeader(vectorSignature), vectorBody, now.Add(-5*time.Minute - time.Second), webhook.ErrTimestamp},
		{"no signature", []string{vectorSecret}, vectorHeader(""), vectorBody, now, webhook.ErrHeader},
		{"no headers", []string{vectorSecret}, http.Header{}, vectorBody, now, webhook.ErrHeader},
		{"bad timestamp", []string{vectorSecret}, func() http.Header {
			h := vectorHeader(vectorSignature)
			h.Set(webhook.HeaderTimestamp, "soon")
			return h
		}(), vectorBody, now, webhook.ErrHeader},
		{"no secret", nil, vectorHeader(vectorSignature), vectorBody, now, webhook.ErrSecret},
		{"short secret", []string{"whsec_c2hvcnQ="}, vectorHeader(vectorSignature), vectorBody, now, webhook.ErrSecret},
		{"not base64", []string{"whsec_!!!"}, vectorHeader(vectorSignature), vectorBody, now, webhook.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.VerifyAt(tt.secrets, tt.header, []byte(tt.body), 0, tt.now)
			if !errors.Is(err, tt.want) || !errors.Is(err, webhook.ErrVerify) {
				t.Errorf("got %v, want %v (and ErrVerify)", err, tt.want)
			}
		})
	}
	// Within the tolerance either way is accepted.
	for _, d := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		if err := webhook.VerifyAt([]string{vectorSecret}, vectorHeader(vectorSignature), body, 0, now.Add(d)); err != nil {
			t.Errorf("%v off: %v", d, err)
		}
	}
	if _, err := webhook.Sign("whsec_x", vectorID, now, body); !errors.Is(err, webhook.ErrSecret) {
		t.Errorf("Sign(bad secret): got %v, want ErrSecret", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorID, "1614265330", vectorSignature, vectorBody)
	f.Add("", "", "", "")
	f.Add("id", "-1", "v1, v1,,", "x")
	now := time.Unix(vectorTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		err := webhook.VerifyAt([]string{vectorSecret}, h, []byte(body), 0, now)
		if err != nil && !errors.Is(err, webhook.ErrVerify) {
			t.Errorf("error %v does not wrap ErrVerify", err)
		}
		if err == nil && (id != vectorID || body != vectorBody) {
			t.Errorf("accepted a request other than the vector: id %q body %q", id, body)
		}
	})
}
