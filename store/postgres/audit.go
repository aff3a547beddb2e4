package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra/store"
)

// ErrBadCursor: AuditQuery.After is not a cursor this adapter returned.
var ErrBadCursor = errors.New("sigra/postgres: malformed audit cursor")

// maxAuditPage is the default and largest page of QueryAudit.
const maxAuditPage = 100

// AppendAudit implements [store.AuditLog]. Empty metadata is stored as
// NULL and read back as a nil map.
func (db *DB) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	id := e.ID
	if id == "" {
		id = store.NewID()
	}
	at := e.At
	if at.IsZero() {
		at = nowUTC()
	}
	var meta any
	if len(e.Metadata) > 0 {
		meta = e.Metadata
	}
	_, err := db.q(ctx).Exec(ctx, `INSERT INTO sigra_audit_log
		(id, at, action, actor_id, subject_id, impersonator_id, ip, user_agent, outcome, metadata, org_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
		id, at, e.Action, e.ActorID, e.SubjectID, e.ImpersonatorID, e.IP, e.UserAgent, e.Outcome, meta, e.OrgID)
	if err != nil {
		return wrap("append audit", err)
	}
	e.ID, e.At = id, at
	return nil
}

// QueryAudit implements [store.AuditLog]. Events are ordered by (At, ID),
// newest first; the cursor is the position of the page's last event, so
// pages stay stable while events are appended. Only the filters in use
// appear in the statement, so each combination gets a plan that uses its
// index. An After that this adapter did not produce yields ErrBadCursor.
func (db *DB) QueryAudit(ctx context.Context, q store.AuditQuery) ([]*store.AuditEvent, string, error) {
	return db.searchAudit(ctx, "query audit", store.AuditSearch{
		UserID: q.UserID, OrgID: q.OrgID, Action: q.Action,
		Since: q.Since, Until: q.Until, After: q.After, Limit: q.Limit,
	})
}

// searchAudit returns one page of the events q selects, newest first, and
// the cursor of the next page: the statement of QueryAudit and
// SearchAudit, which name themselves op in errors. Only the filters in use
// appear in it.
func (db *DB) searchAudit(ctx context.Context, op string, q store.AuditSearch) ([]*store.AuditEvent, string, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxAuditPage {
		limit = maxAuditPage
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	if q.UserID != "" {
		p := arg(q.UserID)
		where = append(where, "(actor_id = "+p+" OR subject_id = "+p+")")
	}
	if q.OrgID != "" {
		// org_id <> '' (implied) lets a generic plan use the partial
		// index sigra_audit_log_org_idx.
		where = append(where, "org_id = "+arg(q.OrgID)+" AND org_id <> ''")
	}
	eq("action", q.Action)
	eq("actor_id", q.ActorID)
	eq("subject_id", q.SubjectID)
	eq("outcome", q.Outcome)
	if q.IP != "" {
		where = append(where, "ip = "+arg(q.IP)+" AND ip <> ''")
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until))
	}
	if q.After != "" {
		at, id, err := parseAuditCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(at, id) < ("+arg(at)+"::timestamptz, "+arg(id)+"::text)")
	}
	// Only placeholders are concatenated into the statement, never input.
	var sb strings.Builder
	sb.WriteString(`SELECT ` + auditColumns + ` FROM sigra_audit_log`)
	if len(where) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(where, " AND "))
	}
	sb.WriteString(" ORDER BY at DESC, id DESC LIMIT ")
	sb.WriteString(arg(limit + 1))

	rows, err := db.q(ctx).Query(ctx, sb.String(), args...)
	events, err := collectAudit(op, rows, err)
	if err != nil {
		return nil, "", err
	}
	if len(events) <= limit {
		return events, "", nil
	}
	events = events[:limit]
	last := events[limit-1]
	return events, formatAuditCursor(last.At, last.ID), nil
}

// formatAuditCursor encodes a position in the audit order: the event's
// time in Unix microseconds and its ID, base64url-encoded so the cursor is
// opaque and safe in a URL.
func formatAuditCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

// parseAuditCursor decodes a cursor of formatAuditCursor. The cursor
// comes from the client (a query string of an admin page), so anything
// else is refused with ErrBadCursor.
func parseAuditCursor(c string) (time.Time, string, error) {
	if len(c) > 512 {
		return time.Time{}, "", ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok || id == "" || micros == "" {
		return time.Time{}, "", ErrBadCursor
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || strings.HasPrefix(micros, "+") {
		return time.Time{}, "", ErrBadCursor
	}
	// PostgreSQL's timestamptz spans 4713 BC to 294276 AD; anything the
	// adapter wrote lies within years 1 to 9999.
	const minMicros, maxMicros = -62135596800000000, 253402300799999999
	if n < minMicros || n > maxMicros {
		return time.Time{}, "", ErrBadCursor
	}
	if strings.ContainsRune(id, 0) || !utf8.ValidString(id) {
		return time.Time{}, "", ErrBadCursor
	}
	return time.UnixMicro(n).UTC(), id, nil
}
