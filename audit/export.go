package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra/store"
)

// csvHeader is the header row written by WriteCSV and CSVWriter.
var csvHeader = [...]string{
	"id", "at", "action", "outcome", "actor_id", "subject_id",
	"impersonator_id", "org_id", "ip", "user_agent", "metadata",
}

// WriteCSV writes events to w as CSV (RFC 4180 quoting, LF line ends, so
// that a carriage return inside a value survives): a header row, then one
// row per event. The columns are
//
//	id, at, action, outcome, actor_id, subject_id, impersonator_id, org_id, ip, user_agent, metadata
//
// where at is RFC 3339 in UTC, org_id the organization the event happened
// in (empty when none) and metadata a JSON object with sorted keys
// (empty when the event has none). Nil events are skipped. Every
// cell is guarded against formula injection as described on [CSVWriter].
func WriteCSV(w io.Writer, events []*store.AuditEvent) error {
	cw := NewCSVWriter(w)
	if err := cw.Write(events...); err != nil {
		return err
	}
	return cw.Flush()
}

// CSVWriter writes audit events as CSV a page at a time, so that a large
// export streams instead of being held in memory. The header row is written
// once, before the first event (or by Flush if there is none).
//
// A cell that a spreadsheet could take for a formula, one beginning with
// '=', '+', '-', '@', a tab or a carriage return (or the full-width
// '＝', '＋', '－', '＠'), is written with a leading single quote, so an
// attacker-chosen user agent or metadata value is shown as text, not run.
//
// A CSVWriter is not safe for concurrent use.
type CSVWriter struct {
	w      *csv.Writer
	header bool
	row    []string
}

// NewCSVWriter returns a CSVWriter writing to w.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w), row: make([]string, len(csvHeader))}
}

// Write writes one row per event, after the header if it is not written
// yet. Nil events are skipped. Output is buffered: call Flush at the end.
func (c *CSVWriter) Write(events ...*store.AuditEvent) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	for _, e := range events {
		if e == nil {
			continue
		}
		md, err := metadataJSON(e.Metadata)
		if err != nil {
			return err
		}
		c.row[0] = e.ID
		c.row[1] = formatTime(e.At)
		c.row[2] = e.Action
		c.row[3] = e.Outcome
		c.row[4] = e.ActorID
		c.row[5] = e.SubjectID
		c.row[6] = e.ImpersonatorID
		c.row[7] = e.OrgID
		c.row[8] = e.IP
		c.row[9] = e.UserAgent
		c.row[10] = md
		for i, cell := range c.row {
			c.row[i] = guardCell(cell)
		}
		if err := c.w.Write(c.row); err != nil {
			return fmt.Errorf("sigra/audit: write CSV: %w", err)
		}
	}
	return nil
}

// Flush writes the header if nothing was written yet, writes any buffered
// data to the underlying writer and returns the first error met.
func (c *CSVWriter) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("sigra/audit: write CSV: %w", err)
	}
	return nil
}

func (c *CSVWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	if err := c.w.Write(csvHeader[:]); err != nil {
		return fmt.Errorf("sigra/audit: write CSV: %w", err)
	}
	return nil
}

// guardCell prefixes a cell that a spreadsheet would read as a formula with
// a single quote.
func guardCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	switch r, _ := utf8.DecodeRuneInString(s); r {
	case '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// metadataJSON encodes md as a JSON object with sorted keys, or "" when md
// is empty.
func metadataJSON(md map[string]string) (string, error) {
	if len(md) == 0 {
		return "", nil
	}
	b, err := json.Marshal(md)
	if err != nil {
		return "", fmt.Errorf("sigra/audit: encode metadata: %w", err)
	}
	return string(b), nil
}

// jsonEvent is the shape of one line of WriteJSONLines. Every field is
// always present, so consumers see one schema.
type jsonEvent struct {
	ID             string            `json:"id"`
	At             string            `json:"at"`
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

// WriteJSONLines writes events to w as JSON Lines: one JSON object per
// event and per line, with the columns of [WriteCSV] as keys, "at" in RFC
// 3339 (UTC) and "metadata" an object ({} when empty). Nil events are
// skipped. It writes no header, so a large export may call it once per
// page.
func WriteJSONLines(w io.Writer, events []*store.AuditEvent) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if e == nil {
			continue
		}
		md := e.Metadata
		if md == nil {
			md = map[string]string{}
		}
		if err := enc.Encode(jsonEvent{
			ID:             e.ID,
			At:             formatTime(e.At),
			Action:         e.Action,
			Outcome:        e.Outcome,
			ActorID:        e.ActorID,
			SubjectID:      e.SubjectID,
			ImpersonatorID: e.ImpersonatorID,
			OrgID:          e.OrgID,
			IP:             e.IP,
			UserAgent:      e.UserAgent,
			Metadata:       md,
		}); err != nil {
			return fmt.Errorf("sigra/audit: write JSON lines: %w", err)
		}
	}
	return nil
}
