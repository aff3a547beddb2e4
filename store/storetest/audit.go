package storetest

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

func auditChecks() []check {
	return []check{
		checkOf("AppendAudit", testAppendAudit),
		checkOf("QueryAudit/Filters", testQueryAuditFilters),
		checkOf("QueryAudit/Paging", testQueryAuditPaging),
		checkOf("QueryAudit/OrgPaging", testQueryAuditOrgPaging),
		checkOf("QueryAudit/Limit", testQueryAuditLimit),
		checkOf("QueryAudit/BadCursor", testQueryAuditBadCursor),
	}
}

func testAppendAudit(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	e := &store.AuditEvent{
		At:             t0,
		Action:         "session.sign_in",
		ActorID:        store.NewID(),
		SubjectID:      store.NewID(),
		ImpersonatorID: store.NewID(),
		OrgID:          store.NewID(),
		IP:             "2001:db8::2",
		UserAgent:      "Mozilla/5.0 «test»",
		Outcome:        "failure",
		Metadata:       map[string]string{"method": "password", "reason": `bad "quote" \ and ünïcode`, "": "empty key"},
	}
	must(t, "AppendAudit", s.AppendAudit(ctx, e))
	if e.ID == "" {
		t.Fatal("AppendAudit left an empty ID unfilled")
	}
	bare := &store.AuditEvent{Action: "user.created", Outcome: "success"}
	must(t, "AppendAudit(bare)", s.AppendAudit(ctx, bare))
	if bare.ID == "" || bare.At.IsZero() || bare.ID == e.ID {
		t.Fatalf("AppendAudit fills: got ID %q, At %v, want a new ID and a time", bare.ID, bare.At)
	}

	events, next, err := s.QueryAudit(ctx, store.AuditQuery{Action: "session.sign_in"})
	must(t, "QueryAudit", err)
	if len(events) != 1 || next != "" {
		t.Fatalf("QueryAudit: got %d events and cursor %q, want 1 and none", len(events), next)
	}
	got := events[0]
	if got.ID != e.ID || got.Action != e.Action || got.ActorID != e.ActorID || got.SubjectID != e.SubjectID || got.ImpersonatorID != e.ImpersonatorID ||
		got.OrgID != e.OrgID {
		t.Errorf("event ids: got %+v, want %+v", got, e)
	}
	if got.IP != e.IP || got.UserAgent != e.UserAgent || got.Outcome != e.Outcome {
		t.Errorf("event fields: got (%q, %q, %q), want (%q, %q, %q)", got.IP, got.UserAgent, got.Outcome, e.IP, e.UserAgent, e.Outcome)
	}
	if !maps.Equal(got.Metadata, e.Metadata) {
		t.Errorf("Metadata: got %q, want %q", got.Metadata, e.Metadata)
	}
	sameTime(t, "At", got.At, t0)

	events, _, err = s.QueryAudit(ctx, store.AuditQuery{Action: "user.created"})
	must(t, "QueryAudit", err)
	if len(events) != 1 || len(events[0].Metadata) != 0 || events[0].OrgID != "" {
		t.Fatalf("bare event: got %+v, want one event without metadata or organization", events)
	}
	sameTime(t, "filled At", events[0].At, bare.At)
}

func testQueryAuditFilters(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	u, v := store.NewID(), store.NewID()
	o, p := store.NewID(), store.NewID()
	events := []*store.AuditEvent{
		{At: at(1 * time.Minute), Action: "a", ActorID: u, SubjectID: u, OrgID: o},
		{At: at(2 * time.Minute), Action: "b", ActorID: v, SubjectID: u, OrgID: o}, // u as subject
		{At: at(3 * time.Minute), Action: "a", ActorID: u, SubjectID: v},           // u as actor
		{At: at(4 * time.Minute), Action: "a", ActorID: v, SubjectID: v, OrgID: o},
		{At: at(5 * time.Minute), Action: "b", ActorID: "", SubjectID: u, OrgID: p},
		{At: at(6 * time.Minute), Action: "a", ImpersonatorID: u}, // impersonator only: not u's
	}
	for _, e := range events {
		e.Outcome = "success"
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
	}
	id := func(i int) string { return events[i].ID }
	tests := []struct {
		name string
		q    store.AuditQuery
		want []string // newest first
	}{
		{"all", store.AuditQuery{}, []string{id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"user", store.AuditQuery{UserID: u}, []string{id(4), id(2), id(1), id(0)}},
		{"action", store.AuditQuery{Action: "b"}, []string{id(4), id(1)}},
		{"user and action", store.AuditQuery{UserID: u, Action: "a"}, []string{id(2), id(0)}},
		{"since is inclusive", store.AuditQuery{Since: at(4 * time.Minute)}, []string{id(5), id(4), id(3)}},
		{"until is exclusive", store.AuditQuery{Until: at(3 * time.Minute)}, []string{id(1), id(0)}},
		{"window", store.AuditQuery{UserID: v, Since: at(2 * time.Minute), Until: at(4*time.Minute + time.Millisecond)}, []string{id(3), id(2), id(1)}},
		{"no match", store.AuditQuery{UserID: store.NewID()}, nil},
		{"org", store.AuditQuery{OrgID: o}, []string{id(3), id(1), id(0)}},
		{"other org", store.AuditQuery{OrgID: p}, []string{id(4)}},
		{"org and user", store.AuditQuery{OrgID: o, UserID: u}, []string{id(1), id(0)}},
		{"org and action", store.AuditQuery{OrgID: o, Action: "a"}, []string{id(3), id(0)}},
		{"org and window", store.AuditQuery{OrgID: o, Since: at(2 * time.Minute), Until: at(4 * time.Minute)}, []string{id(1)}},
		{"unknown org", store.AuditQuery{OrgID: store.NewID()}, nil},
	}
	for _, tt := range tests {
		got, next, err := s.QueryAudit(ctx, tt.q)
		must(t, "QueryAudit("+tt.name+")", err)
		if next != "" {
			t.Errorf("QueryAudit(%s): got cursor %q on a single page, want none", tt.name, next)
		}
		gotIDs := make([]string, len(got))
		for i, e := range got {
			gotIDs[i] = e.ID
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(tt.want) {
			t.Errorf("QueryAudit(%s): got %v, want %v", tt.name, gotIDs, tt.want)
		}
	}
}

func testQueryAuditPaging(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	u := store.NewID()
	const total, page = 23, 4
	want := map[string]bool{}
	for i := range total {
		// Runs of events share a timestamp, so a cursor on At alone loses
		// or repeats rows; a few events belong to someone else.
		e := &store.AuditEvent{At: at(time.Duration(i/5) * time.Second), Action: "page", SubjectID: u, Outcome: "success"}
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
		want[e.ID] = true
		must(t, "AppendAudit(noise)", s.AppendAudit(ctx, &store.AuditEvent{At: e.At, Action: "page", SubjectID: store.NewID(), Outcome: "success"}))
	}

	seen := map[string]bool{}
	var last time.Time
	q := store.AuditQuery{UserID: u, Action: "page", Limit: page}
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("QueryAudit paging does not end")
		}
		events, next, err := s.QueryAudit(ctx, q)
		must(t, "QueryAudit", err)
		if len(events) > page {
			t.Fatalf("page %d: got %d events, want at most %d", pages, len(events), page)
		}
		if next != "" && len(events) != page {
			t.Errorf("page %d: got %d events with a next cursor, want a full page", pages, len(events))
		}
		for _, e := range events {
			if seen[e.ID] {
				t.Errorf("page %d: event %s seen twice", pages, e.ID)
			}
			if !want[e.ID] {
				t.Errorf("page %d: event %s does not match the query", pages, e.ID)
			}
			if !last.IsZero() && e.At.After(last) {
				t.Errorf("page %d: event at %v after one at %v: want newest first", pages, e.At, last)
			}
			seen[e.ID], last = true, e.At
		}
		if next == "" {
			break
		}
		q.After = next
	}
	if len(seen) != total {
		t.Errorf("events seen across pages: got %d, want %d (rows lost)", len(seen), total)
	}

	// When the last page is full, it still says it is the last.
	exact := store.AuditQuery{Action: "page", UserID: u, Limit: total}
	events, next, err := s.QueryAudit(ctx, exact)
	must(t, "QueryAudit(one exact page)", err)
	if len(events) != total || next != "" {
		t.Errorf("QueryAudit(limit = matches): got %d events and cursor %q, want %d and none", len(events), next, total)
	}
}

// testQueryAuditOrgPaging pages through one organization's events, alone
// and with a user: events of other organizations, or of none, at the same
// times are never returned, and no event is lost or repeated.
func testQueryAuditOrgPaging(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	o, u := store.NewID(), store.NewID()
	const total, page = 17, 3
	wantOrg, wantUser := map[string]bool{}, map[string]bool{}
	for i := range total {
		// Runs of events share a timestamp; every third is u's.
		e := &store.AuditEvent{At: at(time.Duration(i/4) * time.Second), Action: "org.page", SubjectID: store.NewID(), OrgID: o, Outcome: "success"}
		if i%3 == 0 {
			e.SubjectID = u
		}
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
		wantOrg[e.ID] = true
		if i%3 == 0 {
			wantUser[e.ID] = true
		}
		for _, other := range []string{store.NewID(), ""} {
			must(t, "AppendAudit(noise)", s.AppendAudit(ctx, &store.AuditEvent{At: e.At, Action: "org.page", SubjectID: u, OrgID: other, Outcome: "success"}))
		}
	}
	for _, tt := range []struct {
		name string
		q    store.AuditQuery
		want map[string]bool
	}{
		{"org", store.AuditQuery{OrgID: o, Limit: page}, wantOrg},
		{"org and user", store.AuditQuery{OrgID: o, UserID: u, Limit: page}, wantUser},
		{"org, user and action", store.AuditQuery{OrgID: o, UserID: u, Action: "org.page", Limit: 2}, wantUser},
	} {
		seen := map[string]bool{}
		var last time.Time
		q := tt.q
		for pages := 0; ; pages++ {
			if pages > total {
				t.Fatalf("QueryAudit(%s): paging does not end", tt.name)
			}
			events, next, err := s.QueryAudit(ctx, q)
			must(t, "QueryAudit("+tt.name+")", err)
			if next != "" && len(events) != q.Limit {
				t.Errorf("QueryAudit(%s) page %d: got %d events with a next cursor, want %d", tt.name, pages, len(events), q.Limit)
			}
			for _, e := range events {
				switch {
				case seen[e.ID]:
					t.Errorf("QueryAudit(%s) page %d: event %s seen twice", tt.name, pages, e.ID)
				case !tt.want[e.ID]:
					t.Errorf("QueryAudit(%s) page %d: event %s (org %q) does not match", tt.name, pages, e.ID, e.OrgID)
				}
				if !last.IsZero() && e.At.After(last) {
					t.Errorf("QueryAudit(%s) page %d: event at %v after one at %v: want newest first", tt.name, pages, e.At, last)
				}
				seen[e.ID], last = true, e.At
			}
			if next == "" {
				break
			}
			q.After = next
		}
		if len(seen) != len(tt.want) {
			t.Errorf("QueryAudit(%s): events seen across pages: got %d, want %d", tt.name, len(seen), len(tt.want))
		}
	}
}

func testQueryAuditLimit(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	for i := range 105 {
		must(t, "AppendAudit", s.AppendAudit(ctx, &store.AuditEvent{At: at(time.Duration(i) * time.Millisecond), Action: "bulk", Outcome: "success"}))
	}
	for _, limit := range []int{0, -1, 101, 1000} {
		events, next, err := s.QueryAudit(ctx, store.AuditQuery{Limit: limit})
		must(t, "QueryAudit", err)
		if len(events) != 100 || next == "" {
			t.Errorf("QueryAudit(Limit %d) over 105 events: got %d events, cursor %q, want 100 and a cursor", limit, len(events), next)
		}
	}
	events, _, err := s.QueryAudit(ctx, store.AuditQuery{Limit: 7})
	must(t, "QueryAudit", err)
	if len(events) != 7 {
		t.Errorf("QueryAudit(Limit 7): got %d, want 7", len(events))
	}
}

func testQueryAuditBadCursor(t *testing.T, s store.AuditLog) {
	ctx := t.Context()
	for i := range 3 {
		must(t, "AppendAudit", s.AppendAudit(ctx, &store.AuditEvent{At: at(time.Duration(i) * time.Second), Action: "x", Outcome: "success"}))
	}
	// A cursor comes back from a client; garbage must not return the first
	// page again (a client would loop) nor crash.
	for _, c := range []string{"garbage", "%", "\x00", "1", "' OR 1=1 --", "eyJ9", string(make([]byte, 4096))} {
		events, _, err := s.QueryAudit(ctx, store.AuditQuery{After: c})
		if err == nil && len(events) == 3 {
			t.Errorf("QueryAudit(After %q): got the first page again, want an error or no events", c)
		}
	}
}
