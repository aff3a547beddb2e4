package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// AuditChain checks [store.AuditChain]: unsealed rows oldest first, seals
// written against the head they continue, the conflicts that keep two
// sealers from forking the chain (a moved head, a row sealed already),
// seals that do not continue the head, sealed rows read back in chain
// order, the count of rows left unsealed, and sealers racing on one store
// until every row is sealed exactly once. Needs store.AuditLog and
// store.AuditChain.
const AuditChain Part = "AuditChain"

// auditChainStore is what the AuditChain part needs.
type auditChainStore interface {
	store.AuditLog
	store.AuditChain
}

func auditChainChecks() []check {
	return []check{
		checkOf("Empty", testAuditChainEmpty),
		checkOf("SealAudit", testSealAudit),
		checkOf("AppendAudit/Unsealed", testAppendAuditUnsealed),
		checkOf("SealAudit/Conflict", testSealAuditConflict),
		checkOf("SealAudit/Order", testSealAuditOrder),
		checkOf("SealedAudit/Range", testSealedAuditRange),
		checkOf("SealAudit/Race", testSealAuditRace),
	}
}

// chainLink is the storetest's stand-in for a row's hash: any function of
// the previous hash and the row does, the store keeps what it is given.
func chainLink(prev []byte, id string) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write([]byte(id))
	return h.Sum(nil)
}

// sealsFor computes the seals of rows continuing head.
func sealsFor(head store.AuditHead, rows []*store.AuditEvent) []store.AuditSeal {
	seals := make([]store.AuditSeal, len(rows))
	seq, prev := head.Seq, head.Hash
	for i, r := range rows {
		seq++
		h := chainLink(prev, r.ID)
		seals[i] = store.AuditSeal{ID: r.ID, Seq: seq, PrevHash: prev, Hash: h}
		prev = h
	}
	return seals
}

// appendRows appends n audit rows one minute apart from t0 and returns
// their IDs in that order.
func appendRows(t *testing.T, s store.AuditLog, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		e := &store.AuditEvent{At: at(time.Duration(i) * time.Minute), Action: "session.sign_in", Outcome: "success",
			Metadata: map[string]string{"i": fmt.Sprint(i)}}
		must(t, "AppendAudit", s.AppendAudit(t.Context(), e))
		ids[i] = e.ID
	}
	return ids
}

func head(t *testing.T, s store.AuditChain) store.AuditHead {
	t.Helper()
	h, err := s.AuditChainHead(t.Context())
	must(t, "AuditChainHead", err)
	return h
}

func unsealed(t *testing.T, s store.AuditChain, limit int) []*store.AuditEvent {
	t.Helper()
	rows, err := s.UnsealedAudit(t.Context(), limit)
	must(t, "UnsealedAudit", err)
	return rows
}

func testAuditChainEmpty(t *testing.T, s auditChainStore) {
	h := head(t, s)
	if h.Seq != 0 || len(h.Hash) != 0 || !h.SealedAt.IsZero() {
		t.Errorf("AuditChainHead of an empty chain: got %+v, want the zero head", h)
	}
	if rows := unsealed(t, s, 10); len(rows) != 0 {
		t.Errorf("UnsealedAudit of an empty log: got %d rows, want 0", len(rows))
	}
	rows, err := s.SealedAudit(t.Context(), 1, 100, 10)
	must(t, "SealedAudit", err)
	if len(rows) != 0 {
		t.Errorf("SealedAudit of an empty chain: got %d rows, want 0", len(rows))
	}
	wantErr(t, "SealAudit(no seals)", s.SealAudit(t.Context(), store.AuditHead{}, nil), nil)
	if h := head(t, s); h.Seq != 0 {
		t.Errorf("SealAudit(no seals) moved the head to %d", h.Seq)
	}
}

func testSealAudit(t *testing.T, s auditChainStore) {
	ctx := t.Context()
	ids := appendRows(t, s, 3)
	rows := unsealed(t, s, 10)
	if len(rows) != 3 {
		t.Fatalf("UnsealedAudit: got %d rows, want 3", len(rows))
	}
	for i, r := range rows {
		if r.ID != ids[i] || r.Seq != 0 || r.Hash != nil || r.PrevHash != nil {
			t.Errorf("unsealed row %d: got ID %q seq %d hash %x prev %x, want ID %q unsealed", i, r.ID, r.Seq, r.Hash, r.PrevHash, ids[i])
		}
		if r.Metadata["i"] != fmt.Sprint(i) {
			t.Errorf("unsealed row %d: metadata %v", i, r.Metadata)
		}
	}
	if got := unsealed(t, s, 2); len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[1] {
		t.Errorf("UnsealedAudit(limit 2): got %d rows, want the two oldest", len(got))
	}
	n, err := s.CountUnsealedAudit(ctx, at(90*time.Second))
	must(t, "CountUnsealedAudit", err)
	if n != 2 {
		t.Errorf("CountUnsealedAudit(before the third): got %d, want 2", n)
	}

	seals := sealsFor(store.AuditHead{}, rows[:2])
	must(t, "SealAudit", s.SealAudit(ctx, store.AuditHead{}, seals))
	h := head(t, s)
	if h.Seq != 2 || !bytes.Equal(h.Hash, seals[1].Hash) || h.SealedAt.IsZero() {
		t.Errorf("head after sealing two: got seq %d hash %x at %v, want seq 2 hash %x and a time", h.Seq, h.Hash, h.SealedAt, seals[1].Hash)
	}
	left := unsealed(t, s, 10)
	if len(left) != 1 || left[0].ID != ids[2] {
		t.Fatalf("UnsealedAudit after sealing two: got %d rows, want the third", len(left))
	}
	n, err = s.CountUnsealedAudit(ctx, at(time.Hour))
	must(t, "CountUnsealedAudit", err)
	if n != 1 {
		t.Errorf("CountUnsealedAudit: got %d, want 1", n)
	}
	more := sealsFor(h, left)
	must(t, "SealAudit(continuing)", s.SealAudit(ctx, h, more))

	got, err := s.SealedAudit(ctx, 1, 3, 10)
	must(t, "SealedAudit", err)
	all := append(seals, more...)
	if len(got) != 3 {
		t.Fatalf("SealedAudit: got %d rows, want 3", len(got))
	}
	for i, r := range got {
		w := all[i]
		if r.ID != w.ID || r.Seq != w.Seq || !bytes.Equal(r.Hash, w.Hash) || !bytes.Equal(r.PrevHash, w.PrevHash) {
			t.Errorf("sealed row %d: got (%q, %d, %x, %x), want (%q, %d, %x, %x)", i, r.ID, r.Seq, r.PrevHash, r.Hash, w.ID, w.Seq, w.PrevHash, w.Hash)
		}
		if r.Action != "session.sign_in" || r.Metadata["i"] != fmt.Sprint(i) {
			t.Errorf("sealed row %d lost its fields: %+v", i, r)
		}
		sameTime(t, "sealed row At", r.At, at(time.Duration(i)*time.Minute))
	}
	if len(got[0].PrevHash) != 0 {
		t.Errorf("first row's PrevHash: got %x, want empty", got[0].PrevHash)
	}
	// The audit query shows the seal too.
	events, _, err := s.QueryAudit(ctx, store.AuditQuery{Limit: 10})
	must(t, "QueryAudit", err)
	if len(events) != 3 {
		t.Fatalf("QueryAudit: got %d events, want 3", len(events))
	}
	for _, e := range events { // newest first
		w := all[e.Seq-1]
		if e.ID != w.ID || !bytes.Equal(e.Hash, w.Hash) || !bytes.Equal(e.PrevHash, w.PrevHash) {
			t.Errorf("QueryAudit: event %q has seq %d hash %x, want its seal", e.ID, e.Seq, e.Hash)
		}
	}
	if events[0].ID != ids[2] || events[0].Seq != 3 {
		t.Errorf("QueryAudit: newest event %q seq %d, want %q seq 3", events[0].ID, events[0].Seq, ids[2])
	}
}

func testSealAuditConflict(t *testing.T, s auditChainStore) {
	ctx := t.Context()
	appendRows(t, s, 3)
	rows := unsealed(t, s, 10)
	first := sealsFor(store.AuditHead{}, rows[:1])
	must(t, "SealAudit", s.SealAudit(ctx, store.AuditHead{}, first))
	h := head(t, s)

	// A second sealer that computed its seals from the empty head loses.
	stale := sealsFor(store.AuditHead{}, rows[1:2])
	wantErr(t, "SealAudit(stale head)", s.SealAudit(ctx, store.AuditHead{}, stale), store.ErrConflict)
	// The right seq but another hash is stale too.
	forged := store.AuditHead{Seq: h.Seq, Hash: chainLink(nil, "other")}
	wantErr(t, "SealAudit(head with another hash)", s.SealAudit(ctx, forged, sealsFor(forged, rows[1:2])), store.ErrConflict)

	// A batch that seals a row sealed already writes nothing, not even
	// the rows before it.
	again := sealsFor(h, []*store.AuditEvent{rows[1], rows[0]})
	wantErr(t, "SealAudit(a sealed row)", s.SealAudit(ctx, h, again), store.ErrConflict)
	// A row that does not exist (deleted meanwhile) is a conflict.
	gone := sealsFor(h, []*store.AuditEvent{rows[1], {ID: store.NewID()}})
	wantErr(t, "SealAudit(a missing row)", s.SealAudit(ctx, h, gone), store.ErrConflict)

	if got := head(t, s); got.Seq != h.Seq || !bytes.Equal(got.Hash, h.Hash) {
		t.Errorf("head after refused seals: got seq %d, want %d unchanged", got.Seq, h.Seq)
	}
	if left := unsealed(t, s, 10); len(left) != 2 {
		t.Errorf("refused seals wrote rows: got %d unsealed, want 2", len(left))
	}
	// The refused batches left the chain usable.
	must(t, "SealAudit(after conflicts)", s.SealAudit(ctx, h, sealsFor(h, rows[1:])))
	if got := head(t, s); got.Seq != 3 {
		t.Errorf("head: got seq %d, want 3", got.Seq)
	}
}

func testSealAuditOrder(t *testing.T, s auditChainStore) {
	ctx := t.Context()
	appendRows(t, s, 2)
	rows := unsealed(t, s, 10)
	for _, tc := range []struct {
		name  string
		seals func() []store.AuditSeal
	}{
		{"first seq not head+1", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[0].Seq = 2
			return ss
		}},
		{"gap", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[1].Seq = 3
			return ss
		}},
		{"prev not the head's hash", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[0].PrevHash = []byte("x")
			return ss
		}},
		{"prev not the previous seal's hash", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[1].PrevHash = ss[0].PrevHash
			return ss
		}},
		{"no hash", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[1].Hash = nil
			return ss
		}},
		{"no ID", func() []store.AuditSeal {
			ss := sealsFor(store.AuditHead{}, rows)
			ss[0].ID = ""
			return ss
		}},
	} {
		err := s.SealAudit(ctx, store.AuditHead{}, tc.seals())
		if !errors.Is(err, store.ErrSealOrder) {
			t.Errorf("SealAudit(%s): got %v, want ErrSealOrder", tc.name, err)
		}
	}
	if h := head(t, s); h.Seq != 0 {
		t.Errorf("refused seals moved the head to %d", h.Seq)
	}
	if left := unsealed(t, s, 10); len(left) != 2 {
		t.Errorf("refused seals wrote rows: %d unsealed, want 2", len(left))
	}
}

func testSealedAuditRange(t *testing.T, s auditChainStore) {
	ctx := t.Context()
	appendRows(t, s, 5)
	must(t, "SealAudit", s.SealAudit(ctx, store.AuditHead{}, sealsFor(store.AuditHead{}, unsealed(t, s, 10))))
	for _, tc := range []struct {
		first, last int64
		limit       int
		want        []int64
	}{
		{1, 5, 10, []int64{1, 2, 3, 4, 5}},
		{2, 4, 10, []int64{2, 3, 4}},
		{2, 5, 2, []int64{2, 3}},
		{5, 100, 10, []int64{5}},
		{6, 100, 10, nil},
		{4, 3, 10, nil},
		{1, 5, 0, nil},
	} {
		rows, err := s.SealedAudit(ctx, tc.first, tc.last, tc.limit)
		must(t, "SealedAudit", err)
		var got []int64
		for _, r := range rows {
			got = append(got, r.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("SealedAudit(%d, %d, %d): got seqs %v, want %v", tc.first, tc.last, tc.limit, got, tc.want)
		}
	}
}

// testSealAuditRace runs sealers against one store while rows are being
// written: each reads the head and the oldest unsealed rows, seals them and
// starts again on ErrConflict. Afterwards every row is sealed exactly once
// and the seals form one chain without gaps.
func testSealAuditRace(t *testing.T, s auditChainStore) {
	ctx := t.Context()
	const writers, perWriter, sealers = 4, 15, 4
	done := make(chan struct{})
	total := writers * perWriter
	writeErrs := make(chan error, 1)
	go func() {
		errs := race(writers, func(w int) error {
			for i := range perWriter {
				e := &store.AuditEvent{At: at(time.Duration(i) * time.Second), Action: "session.sign_in", Outcome: "success",
					Metadata: map[string]string{"w": fmt.Sprint(w)}}
				if err := s.AppendAudit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		writeErrs <- errors.Join(errs...)
		close(done)
	}()
	var conflicts atomic.Int64
	errs := race(sealers, func(int) error {
		for {
			h, err := s.AuditChainHead(ctx)
			if err != nil {
				return err
			}
			rows, err := s.UnsealedAudit(ctx, 7)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				select {
				case <-done:
					return nil
				default:
					time.Sleep(time.Millisecond)
					continue
				}
			}
			if err := s.SealAudit(ctx, h, sealsFor(h, rows)); errors.Is(err, store.ErrConflict) {
				conflicts.Add(1)
				continue
			} else if err != nil {
				return err
			}
		}
	})
	must(t, "writers", <-writeErrs)
	for i, err := range errs {
		must(t, fmt.Sprintf("sealer %d", i), err)
	}
	// A last pass for rows committed after the sealers saw done.
	for {
		rows := unsealed(t, s, 100)
		if len(rows) == 0 {
			break
		}
		h := head(t, s)
		must(t, "SealAudit(last pass)", s.SealAudit(ctx, h, sealsFor(h, rows)))
	}
	t.Logf("%d conflicts between sealers", conflicts.Load())

	h := head(t, s)
	if h.Seq != int64(total) {
		t.Fatalf("head after the race: got seq %d, want %d", h.Seq, total)
	}
	rows, err := s.SealedAudit(ctx, 1, int64(total), total+1)
	must(t, "SealedAudit", err)
	if len(rows) != total {
		t.Fatalf("SealedAudit: got %d rows, want %d", len(rows), total)
	}
	seen := map[string]bool{}
	var prev []byte
	for i, r := range rows {
		if r.Seq != int64(i+1) || !bytes.Equal(r.PrevHash, prev) || !bytes.Equal(r.Hash, chainLink(prev, r.ID)) {
			t.Fatalf("row %d of the chain (seq %d, ID %q) does not continue the row before", i, r.Seq, r.ID)
		}
		if seen[r.ID] {
			t.Fatalf("row %q sealed twice", r.ID)
		}
		seen[r.ID] = true
		prev = r.Hash
	}
	if !bytes.Equal(h.Hash, prev) {
		t.Errorf("head hash %x is not the last row's %x", h.Hash, prev)
	}
}

// testAppendAuditUnsealed checks that AppendAudit writes a row unsealed
// whatever seal its caller put on the event: only SealAudit seals.
func testAppendAuditUnsealed(t *testing.T, s auditChainStore) {
	e := &store.AuditEvent{At: t0, Action: "session.sign_in", Outcome: "success", Seq: 1, PrevHash: []byte("p"), Hash: chainLink(nil, "x")}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), e))
	rows := unsealed(t, s, 10)
	if len(rows) != 1 || rows[0].Seq != 0 || rows[0].Hash != nil || rows[0].PrevHash != nil {
		t.Fatalf("UnsealedAudit: got %d rows (%+v), want the row, unsealed", len(rows), rows)
	}
	if h := head(t, s); h.Seq != 0 {
		t.Errorf("AppendAudit moved the head to %d", h.Seq)
	}
	sealedRows, err := s.SealedAudit(t.Context(), 1, 10, 10)
	must(t, "SealedAudit", err)
	if len(sealedRows) != 0 {
		t.Errorf("SealedAudit: got %d rows, want none", len(sealedRows))
	}
}
