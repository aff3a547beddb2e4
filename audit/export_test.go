package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/store"
)

var header = []string{"id", "at", "action", "outcome", "actor_id", "subject_id", "impersonator_id", "org_id", "ip", "user_agent", "metadata"}

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(header)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v\n%s", err, data)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("CSV header: got %q, want %q", rows, header)
	}
	return rows[1:]
}

func TestWriteCSVFormulaGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cell, want string
	}{
		{"=HYPERLINK(\"http://example.com\",\"x\")", "'=HYPERLINK(\"http://example.com\",\"x\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"＝1+1", "'＝1+1"},
		{"＋1", "'＋1"},
		{"－1", "'－1"},
		{"＠SUM(1)", "'＠SUM(1)"},
		{"Mozilla/5.0 (X11; Linux) =1", "Mozilla/5.0 (X11; Linux) =1"},
		{"plain, with \"quotes\"\nand a newline", "plain, with \"quotes\"\nand a newline"},
		{"'already quoted", "'already quoted"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.cell, func(t *testing.T) {
			t.Parallel()
			// The hostile text in every column an attacker might reach.
			e := &store.AuditEvent{
				ID: tt.cell, At: t0, Action: tt.cell, Outcome: tt.cell, ActorID: tt.cell, SubjectID: tt.cell,
				ImpersonatorID: tt.cell, OrgID: tt.cell, IP: tt.cell, UserAgent: tt.cell,
			}
			var buf bytes.Buffer
			if err := audit.WriteCSV(&buf, []*store.AuditEvent{e}); err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			rows := readCSV(t, buf.Bytes())
			if len(rows) != 1 {
				t.Fatalf("rows: got %d, want 1", len(rows))
			}
			for i, got := range rows[0] {
				if header[i] == "at" || header[i] == "metadata" {
					continue
				}
				if got != tt.want {
					t.Errorf("column %s: got %q, want %q", header[i], got, tt.want)
				}
			}
		})
	}
}

func TestWriteCSVRows(t *testing.T) {
	t.Parallel()
	events := []*store.AuditEvent{
		{ID: "01", At: t0, Action: audit.ActionLoginSuccess, Outcome: audit.OutcomeSuccess, ActorID: "u1", SubjectID: "u1",
			OrgID: "org-1", IP: "192.0.2.1", UserAgent: "Browser/1.0", Metadata: map[string]string{"method": "password", "aal": "1"}},
		nil,
		{ID: "02", At: t0.Add(time.Second).In(time.FixedZone("x", 3600)), Action: audit.ActionSessionRevokeAll,
			Outcome: audit.OutcomeSuccess, ActorID: "admin", SubjectID: "u1", ImpersonatorID: "",
			Metadata: map[string]string{"reason": "-1=cmd|' /C calc'!A0"}},
	}
	var buf bytes.Buffer
	if err := audit.WriteCSV(&buf, events); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 3 || bytes.Contains(buf.Bytes(), []byte("\r")) {
		t.Errorf("output %q: want 3 lines ending in LF", buf.String())
	}
	rows := readCSV(t, buf.Bytes())
	want := [][]string{
		{"01", "2026-03-14T15:09:26.535Z", "auth.login.success", "success", "u1", "u1", "", "org-1", "192.0.2.1", "Browser/1.0", `{"aal":"1","method":"password"}`},
		{"02", "2026-03-14T15:09:27.535Z", "session.revoke_all", "success", "admin", "u1", "", "", "", "", `{"reason":"-1=cmd|' /C calc'!A0"}`},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows:\ngot  %q\nwant %q", rows, want)
	}
}

func TestCSVWriterPages(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := audit.NewCSVWriter(&buf)
	for i := range 3 {
		page := []*store.AuditEvent{
			{ID: string(rune('a' + 2*i)), At: t0, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess},
			{ID: string(rune('b' + 2*i)), At: t0, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess},
		}
		if err := w.Write(page...); err != nil {
			t.Fatalf("Write page %d: %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	rows := readCSV(t, buf.Bytes()) // fails if the header repeats: "id" rows would not parse as data below
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[0])
	}
	if want := []string{"a", "b", "c", "d", "e", "f"}; !slices.Equal(ids, want) {
		t.Errorf("ids: got %q, want %q (header written once)", ids, want)
	}

	// No events: the header alone.
	buf.Reset()
	if err := audit.NewCSVWriter(&buf).Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got, want := buf.String(), strings.Join(header, ",")+"\n"; got != want {
		t.Errorf("empty export: got %q, want %q", got, want)
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestExportWriteErrors(t *testing.T) {
	t.Parallel()
	events := []*store.AuditEvent{{ID: "1", At: t0, Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess}}
	if err := audit.WriteCSV(failingWriter{}, events); !errors.Is(err, errWrite) {
		t.Errorf("WriteCSV: got error %v, want %v", err, errWrite)
	}
	if err := audit.WriteJSONLines(failingWriter{}, events); !errors.Is(err, errWrite) {
		t.Errorf("WriteJSONLines: got error %v, want %v", err, errWrite)
	}
}

func TestWriteJSONLines(t *testing.T) {
	t.Parallel()
	events := []*store.AuditEvent{
		{ID: "01", At: t0, Action: audit.ActionLoginFailure, Outcome: audit.OutcomeFailure, SubjectID: "u1",
			IP: "192.0.2.1", UserAgent: "<script>\u2028\"x\"", Metadata: map[string]string{"reason": "bad_password", "method": "password"}},
		nil,
		{ID: "02", At: t0.Add(time.Second), Action: audit.ActionLogout, Outcome: audit.OutcomeSuccess, ActorID: "u1", SubjectID: "u1", ImpersonatorID: "admin",
			OrgID: "org-1"},
	}
	var buf bytes.Buffer
	if err := audit.WriteJSONLines(&buf, events); err != nil {
		t.Fatalf("WriteJSONLines: %v", err)
	}
	if bytes.Contains(buf.Bytes(), []byte("<script>")) || bytes.Contains(buf.Bytes(), []byte("\u2028")) {
		t.Errorf("output %q: want <, > and U+2028 escaped", buf.String())
	}
	type line struct {
		ID             string            `json:"id"`
		At             time.Time         `json:"at"`
		Action         string            `json:"action"`
		Outcome        string            `json:"outcome"`
		ActorID        string            `json:"actor_id"`
		SubjectID      string            `json:"subject_id"`
		ImpersonatorID string            `json:"impersonator_id"`
		OrgID          string            `json:"org_id"`
		IP             string            `json:"ip"`
		UserAgent      string            `json:"user_agent"`
		Metadata       map[string]string `json:"metadata"`
	}
	sc := bufio.NewScanner(&buf)
	var got []*store.AuditEvent
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if len(raw) != len(header) {
			t.Errorf("line %q: got %d keys, want %d (every field always present)", sc.Text(), len(raw), len(header))
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, &store.AuditEvent{ID: l.ID, At: l.At, Action: l.Action, Outcome: l.Outcome, ActorID: l.ActorID,
			SubjectID: l.SubjectID, ImpersonatorID: l.ImpersonatorID, OrgID: l.OrgID, IP: l.IP, UserAgent: l.UserAgent, Metadata: l.Metadata})
	}
	want := []*store.AuditEvent{events[0], events[2]}
	if len(got) != len(want) {
		t.Fatalf("lines: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.Action != w.Action || g.Outcome != w.Outcome || g.ActorID != w.ActorID ||
			g.SubjectID != w.SubjectID || g.ImpersonatorID != w.ImpersonatorID || g.OrgID != w.OrgID || g.IP != w.IP || g.UserAgent != w.UserAgent ||
			len(g.Metadata) != len(w.Metadata) || !maps.Equal(g.Metadata, w.Metadata) {
			t.Errorf("line %d: got %+v, want %+v", i, *g, *w)
		}
	}
}

// TestExportFromStore exports what a real store returned, page by page.
func TestExportFromStore(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st auditStore) {
		ctx := context.Background()
		l := newLogger(t, audit.Config{Store: st, Now: newClock().Now})
		for i := range 5 {
			if err := l.Record(ctx, audit.Event{Action: audit.ActionLoginSuccess, ActorID: "u1", SubjectID: "u1",
				OrgID: "org-1", Outcome: audit.OutcomeSuccess, UserAgent: "=cmd" + string(rune('0'+i))}); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		var buf bytes.Buffer
		w := audit.NewCSVWriter(&buf)
		q := store.AuditQuery{UserID: "u1", Limit: 2}
		for {
			page, next, err := l.Query(ctx, q)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if err := w.Write(page...); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if next == "" {
				break
			}
			q.After = next
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		rows := readCSV(t, buf.Bytes())
		var uas []string
		for _, r := range rows {
			uas = append(uas, r[9])
			if r[7] != "org-1" {
				t.Errorf("org_id of %s: got %q, want %q", r[0], r[7], "org-1")
			}
		}
		if want := []string{"'=cmd4", "'=cmd3", "'=cmd2", "'=cmd1", "'=cmd0"}; !slices.Equal(uas, want) {
			t.Errorf("user agents: got %q, want %q", uas, want)
		}
	})
}
