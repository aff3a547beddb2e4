package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/pgtest"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/store/postgres"
	"github.com/sigra-go/sigra/store/sqlite"
)

// chainStore is what the chain's tests need of a store.
type chainStore interface {
	auditStore
	store.AuditChain
}

// chainBackend opens a database of one kind and, on demand, more handles
// on the same database (more instances of an application).
type chainBackend struct {
	name string
	// open returns a store on a fresh database and a function opening
	// another handle on it.
	open func(t *testing.T) (chainStore, func() chainStore)
}

func chainBackends() []chainBackend {
	return []chainBackend{
		{"sqlite", func(t *testing.T) (chainStore, func() chainStore) {
			path := filepath.Join(t.TempDir(), "audit.db")
			another := func() chainStore {
				db, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatalf("sqlite.Open: %v", err)
				}
				t.Cleanup(func() { closeStore(t, db) })
				return db
			}
			return another(), another
		}},
		{"postgres", func(t *testing.T) (chainStore, func() chainStore) {
			dsn := pgtest.DSN(t)
			another := func() chainStore {
				db, err := postgres.Open(context.Background(), dsn)
				if err != nil {
					t.Fatalf("postgres.Open: %v", err)
				}
				t.Cleanup(db.Close)
				return db
			}
			return another(), another
		}},
	}
}

// forEachChainBackend runs fn once per backend, in parallel subtests.
func forEachChainBackend(t *testing.T, fn func(t *testing.T, st chainStore, another func() chainStore)) {
	t.Helper()
	for _, b := range chainBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, another := b.open(t)
			fn(t, st, another)
		})
	}
}

// tamper runs a statement written with ? placeholders directly on the
// database, as someone with write access to it would.
func tamper(t *testing.T, st chainStore, query string, args ...any) {
	t.Helper()
	var err error
	switch db := st.(type) {
	case *sqlite.DB:
		for i, a := range args { // SQLite keeps times as Unix milliseconds
			if at, ok := a.(time.Time); ok {
				args[i] = at.UnixMilli()
			}
		}
		_, err = db.ExecContext(context.Background(), query, args...)
	case *postgres.DB:
		n := 0
		query = placeholder.ReplaceAllStringFunc(query, func(string) string { n++; return "$" + strconv.Itoa(n) })
		_, err = db.Exec(context.Background(), query, args...)
	default:
		t.Fatalf("tamper: unknown store %T", st)
	}
	if err != nil {
		t.Fatalf("tamper %q: %v", query, err)
	}
}

var testChainKey = bytes.Repeat([]byte{7}, 32)

func newChain(t *testing.T, st store.AuditChain) *audit.Chain {
	t.Helper()
	c, err := audit.NewChain(audit.ChainConfig{Store: st, Key: testChainKey})
	if err != nil {
		t.Fatalf("NewChain: %v", err)
	}
	return c
}

// recordN records n events through a Logger, one second apart, and
// returns their IDs in order.
func recordN(t *testing.T, st chainStore, n int) {
	t.Helper()
	l, err := audit.New(audit.Config{Store: st, Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e := audit.Event{Action: audit.ActionLoginSuccess, ActorID: store.NewID(), SubjectID: store.NewID(), Outcome: audit.OutcomeSuccess,
			IP: "192.0.2.1", UserAgent: "test", Metadata: map[string]string{"method": "password", "n": strconv.Itoa(i)}}
		if err := l.Record(context.Background(), e); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
}

// sealAll seals until nothing is left.
func sealAll(t *testing.T, c *audit.Chain) int {
	t.Helper()
	total := 0
	for {
		n, err := c.Seal(context.Background())
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

func verify(t *testing.T, c *audit.Chain, opt audit.VerifyOptions) *audit.Report {
	t.Helper()
	r, err := c.Verify(context.Background(), opt)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func TestChainSealAndVerify(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, _ func() chainStore) {
		c := newChain(t, st)
		r := verify(t, c, audit.VerifyOptions{})
		if !r.OK() || r.Checked != 0 || r.Head.Seq != 0 {
			t.Fatalf("empty chain: got %+v, want OK with nothing checked", r)
		}
		recordN(t, st, 12)
		if n := sealAll(t, c); n != 12 {
			t.Fatalf("sealed %d rows, want 12", n)
		}
		r = verify(t, c, audit.VerifyOptions{})
		if !r.OK() || r.Checked != 12 || r.From != 1 || r.To != 12 || r.Head.Seq != 12 || r.Unsealed != 0 {
			t.Fatalf("Verify: got %+v (broken %+v), want 12 rows checked, OK", r, r.Broken)
		}
		anchor, err := c.Anchor(context.Background())
		if err != nil || anchor.Seq != 12 || len(anchor.Hash) != 32 || anchor.At.IsZero() {
			t.Fatalf("Anchor: got %+v, %v", anchor, err)
		}
		var pages []int64
		r = verify(t, c, audit.VerifyOptions{From: 4, To: 9, Anchors: []audit.Anchor{anchor},
			Progress: func(checked, seq int64) { pages = append(pages, checked, seq) }})
		if !r.OK() || r.Checked != 6 || r.Anchors != 1 {
			t.Fatalf("Verify(4..9): got %+v, want 6 rows checked, OK", r)
		}
		if fmt.Sprint(pages) != "[6 9]" {
			t.Errorf("progress: got %v, want [6 9]", pages)
		}
		// More rows continue the chain.
		recordN(t, st, 3)
		sealAll(t, c)
		if r := verify(t, c, audit.VerifyOptions{Anchors: []audit.Anchor{anchor}}); !r.OK() || r.Checked != 15 {
			t.Fatalf("Verify after more rows: got %+v (broken %+v)", r, r.Broken)
		}
		// Another key does not verify the chain.
		other, err := audit.NewChain(audit.ChainConfig{Store: st, Key: bytes.Repeat([]byte{8}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		if r := verify(t, other, audit.VerifyOptions{}); r.OK() || r.Broken.Seq != 1 || r.Broken.Reason != audit.ReasonEdited {
			t.Errorf("Verify with another key: got %+v, want row 1 edited", r.Broken)
		}
	})
}

// TestChainTamper changes the database directly, as someone with write
// access to it would, and checks that Verify finds each change at the row
// where it is, with its reason.
func TestChainTamper(t *testing.T) {
	const rows = 8
	cases := []struct {
		name    string
		tamper  func(t *testing.T, st chainStore)
		anchor  bool // verify against the anchor taken before tampering
		seq     int64
		reason  audit.Reason
		checked int64
	}{
		{"edit a field", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_log SET outcome = 'failure' WHERE seq = ?`, 3)
		}, false, 3, audit.ReasonEdited, 2},
		{"edit the address", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_log SET ip = '203.0.113.9' WHERE seq = ?`, 5)
		}, false, 5, audit.ReasonEdited, 4},
		{"edit metadata", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_log SET metadata = '{"method":"passkey","n":"0"}' WHERE seq = ?`, 1)
		}, false, 1, audit.ReasonEdited, 0},
		{"delete a row", func(t *testing.T, st chainStore) {
			tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq = ?`, 4)
		}, false, 4, audit.ReasonMissing, 3},
		{"delete a row and renumber the rest", func(t *testing.T, st chainStore) {
			tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq = ?`, 4)
			for s := 5; s <= rows; s++ {
				tamper(t, st, `UPDATE sigra_audit_log SET seq = ? WHERE seq = ?`, s-1, s)
			}
			tamper(t, st, `UPDATE sigra_audit_chain_head SET seq = ?`, rows-1)
		}, false, 4, audit.ReasonLink, 3},
		{"swap two rows", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_log SET seq = -6 WHERE seq = ?`, 6)
			tamper(t, st, `UPDATE sigra_audit_log SET seq = 6 WHERE seq = ?`, 7)
			tamper(t, st, `UPDATE sigra_audit_log SET seq = 7 WHERE seq = ?`, -6)
		}, false, 6, audit.ReasonLink, 5},
		{"delete the last row", func(t *testing.T, st chainStore) {
			tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq = ?`, rows)
		}, false, rows, audit.ReasonMissing, rows - 1},
		{"change the head", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_chain_head SET hash = ?`, bytes.Repeat([]byte{1}, 32))
		}, false, rows, audit.ReasonHead, rows},
		{"move the head back", func(t *testing.T, st chainStore) {
			hs, err := st.SealedAudit(context.Background(), 5, 5, 1)
			if err != nil || len(hs) != 1 {
				t.Fatalf("SealedAudit: %v", err)
			}
			tamper(t, st, `UPDATE sigra_audit_chain_head SET seq = 5, hash = ?`, hs[0].Hash)
		}, false, 6, audit.ReasonHead, 5},
		{"insert a row sealed past the head", func(t *testing.T, st chainStore) {
			tamper(t, st, `INSERT INTO sigra_audit_log (id, at, action, outcome, seq, prev_hash, hash) VALUES (?, ?, 'auth.logout', 'success', ?, ?, ?)`,
				store.NewID(), t0, rows+1, bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32))
		}, false, rows + 1, audit.ReasonHead, rows},
		{"edit the time", func(t *testing.T, st chainStore) {
			tamper(t, st, `UPDATE sigra_audit_log SET at = ? WHERE seq = ?`, t0.Add(-time.Hour), 2)
		}, false, 2, audit.ReasonEdited, 1},
		{"truncate the tail and move the head back", func(t *testing.T, st chainStore) {
			tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq > ?`, 5)
			var h []byte
			hs, err := st.SealedAudit(context.Background(), 5, 5, 1)
			if err != nil || len(hs) != 1 {
				t.Fatalf("SealedAudit: %v", err)
			}
			h = hs[0].Hash
			tamper(t, st, `UPDATE sigra_audit_chain_head SET seq = 5, hash = ?`, h)
		}, true, rows, audit.ReasonTruncated, 5},
		{"truncate, then new rows sealed over the anchor", func(t *testing.T, st chainStore) {
			tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq > ?`, 5)
			hs, err := st.SealedAudit(context.Background(), 5, 5, 1)
			if err != nil || len(hs) != 1 {
				t.Fatalf("SealedAudit: %v", err)
			}
			tamper(t, st, `UPDATE sigra_audit_chain_head SET seq = 5, hash = ?`, hs[0].Hash)
			recordN(t, st, 4)
			sealAll(t, newChain(t, st))
		}, true, rows, audit.ReasonAnchor, 9},
	}
	for _, b := range chainBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					st, _ := b.open(t)
					c := newChain(t, st)
					recordN(t, st, rows)
					sealAll(t, c)
					anchor, err := c.Anchor(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if r := verify(t, c, audit.VerifyOptions{Anchors: []audit.Anchor{anchor}}); !r.OK() {
						t.Fatalf("before tampering: %+v", r.Broken)
					}
					tc.tamper(t, st)
					opt := audit.VerifyOptions{}
					if tc.anchor {
						opt.Anchors = []audit.Anchor{anchor}
						if r := verify(t, c, audit.VerifyOptions{}); !r.OK() {
							t.Errorf("without the anchor: got %+v, want the chain alone to look whole", r.Broken)
						}
					}
					r := verify(t, c, opt)
					if r.OK() {
						t.Fatalf("Verify after %s: the chain looks whole", tc.name)
					}
					if r.Broken.Seq != tc.seq || r.Broken.Reason != tc.reason || r.Checked != tc.checked {
						t.Errorf("Verify after %s: got break at %d (%s, %q) after %d rows, want at %d (%s) after %d",
							tc.name, r.Broken.Seq, r.Broken.Reason, r.Broken.Detail, r.Checked, tc.seq, tc.reason, tc.checked)
					}
				})
			}
		})
	}
}

// TestChainTamperRange checks that a range starting after a deleted row
// still sees it, and that a range before a change does not report it.
func TestChainTamperRange(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, _ func() chainStore) {
		c := newChain(t, st)
		recordN(t, st, 6)
		sealAll(t, c)
		tamper(t, st, `DELETE FROM sigra_audit_log WHERE seq = ?`, 3)
		if r := verify(t, c, audit.VerifyOptions{From: 4}); r.OK() || r.Broken.Seq != 3 || r.Broken.Reason != audit.ReasonMissing {
			t.Errorf("Verify(4..): got %+v, want row 3 missing", r.Broken)
		}
		if r := verify(t, c, audit.VerifyOptions{To: 2}); !r.OK() || r.Checked != 2 {
			t.Errorf("Verify(..2): got %+v, want OK", r.Broken)
		}
		if _, err := c.Verify(context.Background(), audit.VerifyOptions{From: 5, To: 2}); err == nil {
			t.Error("Verify(5..2): no error")
		}
	})
}

// TestChainUnsealed checks that rows the sealer has not reached are
// reported once older than MaxUnsealedAge, and not before.
func TestChainUnsealed(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, _ func() chainStore) {
		now := t0.Add(time.Hour)
		c, err := audit.NewChain(audit.ChainConfig{Store: st, MaxUnsealedAge: 10 * time.Minute, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		recordN(t, st, 3) // at t0+1s..t0+3s
		r := verify(t, c, audit.VerifyOptions{})
		if !r.OK() || r.Unsealed != 3 {
			t.Errorf("Verify: got %d unsealed, want 3", r.Unsealed)
		}
		now = t0
		if r := verify(t, c, audit.VerifyOptions{}); r.Unsealed != 0 {
			t.Errorf("Verify with recent rows: got %d unsealed, want 0", r.Unsealed)
		}
	})
}

// TestChainTwoInstances runs two instances on one database, each with its
// own store handle, Logger and Chain, writing audit rows (in transactions
// and not) and sealing at the same time. Afterwards every row is sealed
// exactly once and the chain verifies.
func TestChainTwoInstances(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, another func() chainStore) {
		instances := []chainStore{st, another()}
		const perWriter = 40
		var (
			mu      sync.Mutex
			written = map[string]bool{}
			wg      sync.WaitGroup
			errs    = make(chan error, 8)
		)
		writing := make(chan struct{})
		var writers sync.WaitGroup
		for i, inst := range instances {
			l, err := audit.New(audit.Config{Store: inst})
			if err != nil {
				t.Fatal(err)
			}
			for w := range 2 {
				writers.Add(1)
				go func() {
					defer writers.Done()
					for n := range perWriter {
						e := &store.AuditEvent{Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess,
							Metadata: map[string]string{"instance": strconv.Itoa(i), "writer": strconv.Itoa(w), "n": strconv.Itoa(n)}}
						var err error
						if n%2 == 0 {
							err = inst.InTx(context.Background(), func(ctx context.Context) error { return inst.AppendAudit(ctx, e) })
						} else {
							err = l.Record(context.Background(), audit.Event{Action: e.Action, Outcome: e.Outcome, Metadata: e.Metadata})
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
		}
		go func() { writers.Wait(); close(writing) }()
		for _, inst := range instances {
			c := newChain(t, inst)
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-writing:
							return
						default:
						}
						if _, err := c.Seal(context.Background()); err != nil && !errors.Is(err, store.ErrConflict) {
							errs <- err
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("an instance failed: %v", err)
		}
		// The sealers of both instances drain what is left, together.
		var drain sync.WaitGroup
		for _, inst := range instances {
			drain.Add(1)
			go func() { defer drain.Done(); sealAll(t, newChain(t, inst)) }()
		}
		drain.Wait()

		total := 2 * 2 * perWriter
		c := newChain(t, instances[1])
		r := verify(t, c, audit.VerifyOptions{})
		if !r.OK() || r.Checked != int64(total) || r.Head.Seq != int64(total) || r.Unsealed != 0 {
			t.Fatalf("Verify: got %+v (broken %+v), want %d rows checked, OK", r, r.Broken, total)
		}
		rows, err := st.SealedAudit(context.Background(), 1, int64(total), total+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range rows {
			mu.Lock()
			if written[e.ID] {
				t.Errorf("row %s sealed twice", e.ID)
			}
			written[e.ID] = true
			mu.Unlock()
		}
		if n := len(all(t, st)); n != total {
			t.Errorf("rows in the log: got %d, want %d", n, total)
		}
		if len(written) != total {
			t.Errorf("sealed rows: got %d distinct, want %d", len(written), total)
		}
		if left, err := st.UnsealedAudit(context.Background(), 10); err != nil || len(left) != 0 {
			t.Errorf("UnsealedAudit: got %d rows (%v), want none", len(left), err)
		}
	})
}

// TestChainRun checks that Run seals rows written while it runs, at once
// when woken.
func TestChainRun(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, _ func() chainStore) {
		c := newChain(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx, time.Hour) }()
		recordN(t, st, 5)
		c.Wake()
		deadline := time.Now().Add(10 * time.Second)
		for {
			a, err := c.Anchor(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if a.Seq == 5 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Run sealed %d rows after Wake, want 5", a.Seq)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestNewChainConfig(t *testing.T) {
	st := openSQLite(t).(store.AuditChain)
	for _, cfg := range []audit.ChainConfig{
		{},
		{Store: st, Key: []byte("short")},
		{Store: st, Batch: -1},
		{Store: st, MaxUnsealedAge: -time.Second},
	} {
		if _, err := audit.NewChain(cfg); !errors.Is(err, sigra.ErrConfig) {
			t.Errorf("NewChain(%+v): got %v, want ErrConfig", cfg, err)
		}
	}
}

func TestParseChainKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, 32)
	for _, s := range []string{
		"+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=", "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s",
		"-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s=", "  -_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s\n",
	} {
		got, err := audit.ParseChainKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseChainKey(%q): got %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "c2hvcnQ=", "not base64!", strings.Repeat("A", 40)} {
		if _, err := audit.ParseChainKey(s); !errors.Is(err, audit.ErrInvalidChainKey) {
			t.Errorf("ParseChainKey(%q): got %v, want ErrInvalidChainKey", s, err)
		}
	}
}

func TestAnchorText(t *testing.T) {
	a := audit.Anchor{Seq: 42, Hash: bytes.Repeat([]byte{0xab}, 32), At: t0}
	s := a.String()
	want := "sigra-audit-anchor/v1 seq=42 hash=" + strings.Repeat("ab", 32) + " at=2026-03-14T15:09:26.535Z"
	if s != want {
		t.Fatalf("String: got %q, want %q", s, want)
	}
	got, err := audit.ParseAnchor("  " + s + "\n")
	if err != nil || got.Seq != a.Seq || !bytes.Equal(got.Hash, a.Hash) || !got.At.Equal(a.At) {
		t.Fatalf("ParseAnchor: got %+v, %v", got, err)
	}
	if _, err := audit.ParseAnchor("sigra-audit-anchor/v1 seq=42 hash=" + strings.Repeat("ab", 32)); err != nil {
		t.Errorf("ParseAnchor without at: %v", err)
	}
	for _, bad := range []string{
		"", "seq=1", "sigra-audit-anchor/v2 seq=1 hash=" + strings.Repeat("ab", 32),
		"sigra-audit-anchor/v1 seq=0 hash=" + strings.Repeat("ab", 32),
		"sigra-audit-anchor/v1 seq=-1 hash=" + strings.Repeat("ab", 32),
		"sigra-audit-anchor/v1 seq=01 hash=" + strings.Repeat("ab", 32),
		"sigra-audit-anchor/v1 seq=+1 hash=" + strings.Repeat("ab", 32),
		"sigra-audit-anchor/v1 seq=1 hash=" + strings.Repeat("ab", 31),
		"sigra-audit-anchor/v1 seq=1 hash=" + strings.Repeat("zz", 32),
		"sigra-audit-anchor/v1 hash=" + strings.Repeat("ab", 32) + " seq=1",
		"sigra-audit-anchor/v1 seq=1 hash=" + strings.Repeat("ab", 32) + " at=yesterday",
		"sigra-audit-anchor/v1 seq=1 hash=" + strings.Repeat("ab", 32) + " at=2026-03-14T15:09:26Z extra",
	} {
		if _, err := audit.ParseAnchor(bad); !errors.Is(err, audit.ErrInvalidAnchor) {
			t.Errorf("ParseAnchor(%q): got %v, want ErrInvalidAnchor", bad, err)
		}
	}
}

func FuzzParseAnchor(f *testing.F) {
	f.Add("sigra-audit-anchor/v1 seq=42 hash=" + strings.Repeat("ab", 32) + " at=2026-03-14T15:09:26.535Z")
	f.Add("sigra-audit-anchor/v1 seq=1 hash=")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := audit.ParseAnchor(s)
		if err != nil {
			if !errors.Is(err, audit.ErrInvalidAnchor) {
				t.Fatalf("error %v does not wrap ErrInvalidAnchor", err)
			}
			return
		}
		if a.Seq < 1 || len(a.Hash) != 32 {
			t.Fatalf("accepted %+v", a)
		}
		b, err := audit.ParseAnchor(a.String())
		if err != nil || b.Seq != a.Seq || !bytes.Equal(b.Hash, a.Hash) || !b.At.Equal(a.At) {
			t.Fatalf("round trip of %q: got %+v, %v", a.String(), b, err)
		}
	})
}

func FuzzParseChainKey(f *testing.F) {
	f.Add("+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=")
	f.Add("secret")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := audit.ParseChainKey(s)
		if err != nil {
			if !errors.Is(err, audit.ErrInvalidChainKey) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(k) < audit.MinChainKeyLen {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
	})
}

// TestCanonical checks that the encoding separates fields (moving bytes
// from one field to the next changes it) and ignores the order in which
// metadata was built.
func TestCanonical(t *testing.T) {
	base := store.AuditEvent{ID: "id", At: t0, Action: "a.b", ActorID: "ab", SubjectID: "c", Outcome: "success",
		Metadata: map[string]string{"x": "1", "y": "2"}}
	moved := base
	moved.ActorID, moved.SubjectID = "a", "bc"
	if bytes.Equal(audit.Canonical(&base), audit.Canonical(&moved)) {
		t.Error("moving a byte between fields kept the encoding")
	}
	metaMoved := base
	metaMoved.Metadata = map[string]string{"x": "1y", "": "2"}
	if bytes.Equal(audit.Canonical(&base), audit.Canonical(&metaMoved)) {
		t.Error("moving bytes between metadata entries kept the encoding")
	}
	same := base
	same.Metadata = map[string]string{"y": "2", "x": "1"}
	same.At = t0.Add(400 * time.Microsecond).In(time.FixedZone("X", 3600))
	if !bytes.Equal(audit.Canonical(&base), audit.Canonical(&same)) {
		t.Error("the same row in another zone, below a millisecond, encodes differently")
	}
	empty, nilMeta := base, base
	empty.Metadata, nilMeta.Metadata = map[string]string{}, nil
	if !bytes.Equal(audit.Canonical(&empty), audit.Canonical(&nilMeta)) {
		t.Error("empty and nil metadata encode differently")
	}
}

// placeholder matches the ? placeholders of tamper's statements.
var placeholder = regexp.MustCompile(`\?`)

// TestChainRunLogsFailures checks that Run logs a store that fails and
// keeps running until its context ends.
func TestChainRunLogsFailures(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	var logs syncBuffer
	c, err := audit.NewChain(audit.ChainConfig{Store: db, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx, 10*time.Millisecond); err != nil {
		t.Errorf("Run: got %v, want nil when its context ends", err)
	}
	if n := strings.Count(logs.String(), "sealing the audit chain failed"); n < 2 {
		t.Errorf("Run logged %d failures in 100 ms at a 10 ms interval, want several:\n%s", n, logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestChainRowPastHead checks that a row written with a seal past the head
// stops the sealing (with a conflict, which Run logs) and that Verify
// reports it.
func TestChainRowPastHead(t *testing.T) {
	forEachChainBackend(t, func(t *testing.T, st chainStore, _ func() chainStore) {
		c := newChain(t, st)
		recordN(t, st, 2)
		sealAll(t, c)
		tamper(t, st, `INSERT INTO sigra_audit_log (id, at, action, outcome, seq, prev_hash, hash) VALUES (?, ?, 'auth.logout', 'success', 3, ?, ?)`,
			store.NewID(), t0, bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32))
		recordN(t, st, 1)
		if _, err := c.Seal(context.Background()); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Seal with a row past the head: got %v, want ErrConflict", err)
		}
		r := verify(t, c, audit.VerifyOptions{})
		if r.OK() || r.Broken.Seq != 3 || r.Broken.Reason != audit.ReasonHead {
			t.Errorf("Verify: got %+v, want row 3 past the head", r.Broken)
		}
		if r := verify(t, c, audit.VerifyOptions{To: 1}); !r.OK() {
			t.Errorf("Verify(..1): got %+v, want a range short of the head to pass", r.Broken)
		}
	})
}
