package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

// demoChainKey is an audit chain key: 32 bytes in base64.
const demoChainKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// TestAuditChain checks that the demo seals its audit rows, a sign-in's
// among them, into a chain that verifies with the key given by
// -audit-chain-key.
func TestAuditChain(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags([]string{"-audit-chain-key", demoChainKey}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.AuditChainKey != demoChainKey {
		t.Fatalf("parseFlags: got %q, %v", cfg.AuditChainKey, err)
	}
	if env, _ := parseFlags(nil, func(k string) string { return map[string]string{EnvAuditChainKey: "env"}[k] }, io.Discard); env.AuditChainKey != "env" {
		t.Errorf("parseFlags from %s: got %q", EnvAuditChainKey, env.AuditChainKey)
	}
	cfg.DB = filepath.Join(t.TempDir(), "demo.db")
	x := startDemo(t, cfg, true)
	x.Client(t).SignIn(DemoEmail, demoPassword)

	chain := x.app.Kit.AuditChain
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := x.app.Store.(store.AuditChain).UnsealedAudit(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := chain.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 && a.Seq > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d rows sealed and some still unsealed", a.Seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
	key, err := audit.ParseChainKey(demoChainKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := audit.NewChain(audit.ChainConfig{Store: x.app.Store.(store.AuditChain), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Verify(ctx, audit.VerifyOptions{})
	if err != nil || !r.OK() || r.Checked == 0 {
		t.Fatalf("Verify: got %+v, %v; want an intact chain", r, err)
	}
	events, _, err := x.Store.QueryAudit(ctx, store.AuditQuery{Action: audit.ActionLoginSuccess})
	if err != nil || len(events) == 0 || events[0].Seq == 0 {
		t.Errorf("the sign-in's audit row: got %+v (%v), want it sealed", events, err)
	}
}
