package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// testChainKey is a chain key in base64: 32 bytes.
const testChainKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// rawExec runs a statement written with ? placeholders directly on the
// backend's database, as someone with write access to it would.
func (b *backend) rawExec(t *testing.T, query string, args ...any) {
	t.Helper()
	var err error
	switch db := b.st.(type) {
	case *sqlite.DB:
		_, err = db.ExecContext(context.Background(), query, args...)
	case *postgres.DB:
		n := 0
		for strings.Contains(query, "?") {
			n++
			query = strings.Replace(query, "?", "$"+strconv.Itoa(n), 1)
		}
		_, err = db.Exec(context.Background(), query, args...)
	default:
		t.Fatalf("rawExec: unknown store %T", b.st)
	}
	if err != nil {
		t.Fatalf("rawExec %q: %v", query, err)
	}
}

func TestAuditCommands(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) backend{"sqlite": sqliteBackend, "postgres": postgresBackend} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			auditCommands(t, b)
		})
	}
}

func auditCommands(t *testing.T, b backend) {
	ctx := context.Background()
	db := EnvDatabase + "=" + b.target
	keyed := []string{db, EnvAuditChainKey + "=" + testChainKey}
	runCLI(t, keyed, "migrate", "up").want(t, "migrate up", exitOK)
	b.open(t)

	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 5 {
		e := &store.AuditEvent{At: now.Add(time.Duration(i-5) * time.Second), Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess,
			UserAgent: "=HYPERLINK(\"http://evil.example\")", Metadata: map[string]string{"n": strconv.Itoa(i)}}
		if err := b.st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing sealed: no anchor; verify has nothing to check.
	runCLI(t, keyed, "audit", "anchor").want(t, "anchor of an empty chain", exitFailed)
	runCLI(t, keyed, "audit", "verify").want(t, "verify of an empty chain", exitOK, "no sealed rows", "intact")

	runCLI(t, keyed, "audit", "seal").want(t, "seal", exitOK, "sealed 5 rows; the head is at 5")
	runCLI(t, keyed, "audit", "seal").want(t, "seal again", exitOK, "sealed 0 rows")

	r := runCLI(t, keyed, "audit", "verify")
	r.want(t, "verify", exitOK, "checked 5 rows of 1..5", "the chain is intact")
	if strings.Contains(r.stdout, "warning") {
		t.Errorf("verify: unexpected warning: %s", r.stdout)
	}
	r = runCLI(t, keyed, "-json", "audit", "verify", "-from", "2", "-to", "4", "-progress")
	r.want(t, "verify -json 2..4", exitOK)
	var rep struct {
		OK      bool   `json:"ok"`
		Checked int64  `json:"checked"`
		From    int64  `json:"from"`
		To      int64  `json:"to"`
		Head    string `json:"head"`
		Broken  *audit.Break
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.OK || rep.Checked != 3 || rep.From != 2 || rep.To != 4 || rep.Broken != nil {
		t.Fatalf("verify -json: got %+v (%v) from %s", rep, err, r.stdout)
	}
	if !strings.Contains(r.stderr, "progress: 3 rows checked (up to seq 4)") {
		t.Errorf("verify -progress: stderr %q has no progress line", r.stderr)
	}
	// Another key (here none) does not verify the chain.
	r = runCLI(t, []string{db}, "audit", "verify")
	r.want(t, "verify without the key", exitTampered, "BROKEN at seq 1 (edited)")

	// The anchor, kept in a file.
	r = runCLI(t, keyed, "audit", "anchor")
	r.want(t, "anchor", exitOK, "sigra-audit-anchor/v1 seq=5 hash=")
	anchors := filepath.Join(t.TempDir(), "anchors")
	if err := os.WriteFile(anchors, []byte("# kept by the operator\n"+r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, keyed, "-json", "audit", "anchor")
	r.want(t, "anchor -json", exitOK)
	var aj struct {
		Anchor string `json:"anchor"`
		Seq    int64  `json:"seq"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &aj); err != nil || aj.Seq != 5 || !strings.HasPrefix(aj.Anchor, "sigra-audit-anchor/v1 seq=5 ") {
		t.Fatalf("anchor -json: got %+v (%v)", aj, err)
	}
	runCLI(t, keyed, "audit", "verify", "-anchor", anchors).want(t, "verify -anchor FILE", exitOK, "against 1 anchors", "intact")
	runCLI(t, keyed, "audit", "verify", "-anchor", aj.Anchor).want(t, "verify -anchor VALUE", exitOK, "intact")

	// Exports, before any tampering.
	auditExports(t, b, keyed)

	// The tail truncated and the head moved back: the chain alone looks
	// whole, the anchor shows it.
	b.rawExec(t, `DELETE FROM sigra_audit_log WHERE seq = 5`)
	var h4 []byte
	if rows, err := b.st.(store.AuditChain).SealedAudit(ctx, 4, 4, 1); err != nil || len(rows) != 1 {
		t.Fatalf("SealedAudit: %v", err)
	} else {
		h4 = rows[0].Hash
	}
	b.rawExec(t, `UPDATE sigra_audit_chain_head SET seq = 4, hash = ?`, h4)
	runCLI(t, keyed, "audit", "verify").want(t, "verify after truncation, no anchor", exitOK, "intact")
	r = runCLI(t, keyed, "audit", "verify", "-anchor", anchors)
	r.want(t, "verify after truncation", exitTampered, "BROKEN at seq 5 (truncated)")

	// A row deleted in the middle.
	b.rawExec(t, `DELETE FROM sigra_audit_log WHERE seq = 2`)
	r = runCLI(t, keyed, "-json", "audit", "verify")
	r.want(t, "verify after a deletion", exitTampered)
	rep.Broken = nil
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.OK || rep.Broken == nil || rep.Broken.Seq != 2 || rep.Broken.Reason != audit.ReasonMissing {
		t.Fatalf("verify -json after a deletion: got %+v (%v) from %s", rep, err, r.stdout)
	}

	// A row left unsealed for long is reported, without failing.
	old := &store.AuditEvent{At: now.Add(-time.Hour), Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}
	if err := b.st.AppendAudit(ctx, old); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, keyed, "audit", "verify", "-to", "1")
	r.want(t, "verify with an old unsealed row", exitOK, "warning: 1 rows are still unsealed")
}

func auditExports(t *testing.T, b backend, env []string) {
	r := runCLI(t, env, "audit", "export")
	r.want(t, "export csv", exitOK, "id,at,action,outcome,actor_id,subject_id,impersonator_id,org_id,ip,user_agent,metadata\n")
	if lines := strings.Count(r.stdout, "\n"); lines != 6 {
		t.Errorf("export csv: got %d lines, want a header and 5 rows:\n%s", lines, r.stdout)
	}
	if !strings.Contains(r.stdout, `"'=HYPERLINK(""http://evil.example"")"`) {
		t.Errorf("export csv: the formula is not defused:\n%s", r.stdout)
	}
	r = runCLI(t, env, "audit", "export", "-format", "jsonl", "-action", audit.ActionLoginSuccess)
	r.want(t, "export jsonl", exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 5 {
		t.Fatalf("export jsonl: got %d lines, want 5", len(lines))
	}
	for i, l := range lines {
		var ev struct {
			Action   string            `json:"action"`
			Metadata map[string]string `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Action != audit.ActionLoginSuccess || ev.Metadata["n"] != strconv.Itoa(4-i) {
			t.Errorf("export jsonl line %d: %q (%v), want newest first", i, l, err)
		}
	}
	r = runCLI(t, env, "audit", "export", "-action", audit.ActionLogout)
	r.want(t, "export of no rows", exitOK)
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("export of no rows: got %q, want the header only", r.stdout)
	}
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	runCLI(t, env, "-json", "audit", "export", "-format", "jsonl", "-o", out, "-progress").want(t, "export -o", exitOK, `"rows": 5`)
	if data, err := os.ReadFile(out); err != nil || strings.Count(string(data), "\n") != 5 {
		t.Errorf("export -o: file holds %q (%v)", data, err)
	}
	runCLI(t, env, "audit", "export", "-o", out).want(t, "export -o over a file", exitFailed)
	if data, _ := os.ReadFile(out); strings.Count(string(data), "\n") != 5 {
		t.Error("export -o over a file changed it")
	}
	since := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	r = runCLI(t, env, "audit", "export", "-format", "jsonl", "-since", since)
	r.want(t, "export -since", exitOK)
	if r.stdout != "" {
		t.Errorf("export -since the future: got %q, want nothing", r.stdout)
	}
}

func TestAuditUsage(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "app.db")
	runCLI(t, nil, "-db", db, "migrate", "up").want(t, "migrate up", exitOK)
	for _, tc := range []struct {
		name string
		args []string
		in   string
	}{
		{"audit alone", []string{"audit"}, "audit takes verify, anchor, seal or export"},
		{"unknown audit command", []string{"audit", "rewrite"}, `unknown audit command "rewrite"`},
		{"verify with an argument", []string{"audit", "verify", "5"}, "takes no arguments"},
		{"verify backwards", []string{"audit", "verify", "-from", "5", "-to", "2"}, "want 1 <= from <= to"},
		{"verify negative", []string{"audit", "verify", "-from", "-1"}, "want 1 <= from <= to"},
		{"bad chain key", []string{"audit", "verify", "-chain-key", "c2hvcnQ="}, "invalid chain key: 5 bytes"},
		{"bad anchor", []string{"audit", "verify", "-anchor", "sigra-audit-anchor/v1 seq=x hash=00"}, "invalid anchor"},
		{"missing anchor file", []string{"audit", "verify", "-anchor", filepath.Join(t.TempDir(), "none")}, "neither an anchor nor a file"},
		{"bad unsealed age", []string{"audit", "verify", "-max-unsealed-age", "0s"}, "want a positive duration"},
		{"export format", []string{"audit", "export", "-format", "xml"}, `-format "xml": want csv or jsonl`},
		{"export since", []string{"audit", "export", "-since", "yesterday"}, "want an RFC 3339 time"},
		{"export action", []string{"audit", "export", "-action", "Not An Action"}, "invalid query"},
		{"export backwards", []string{"audit", "export", "-since", "2026-03-14T00:00:00Z", "-until", "2026-03-13T00:00:00Z"}, "invalid query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"-db", db}, tc.args...)...)
			r.want(t, tc.name, exitUsage)
			if !strings.Contains(r.stderr, tc.in) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.in)
			}
		})
	}
}

// TestAuditWithoutChain checks that the chain's commands refuse, with the
// database's exit code, a database not migrated to the audit chain.
func TestAuditWithoutChain(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.db")
	runCLI(t, nil, "-db", path, "migrate", "up").want(t, "migrate up", exitOK)
	db, err := sqlite.New(context.Background(), sqlite.Config{Path: path, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), `DELETE FROM sigra_schema_migrations WHERE name LIKE '%audit_chain%'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, cmd := range []string{"verify", "anchor", "seal"} {
		r := runCLI(t, nil, "-db", path, "audit", cmd)
		r.want(t, "audit "+cmd, exitDatabase)
		if !strings.Contains(r.stderr, `no audit chain yet: run "sigra migrate up" (migration 0012_audit_chain)`) {
			t.Errorf("audit %s: stderr %q", cmd, r.stderr)
		}
	}
}
