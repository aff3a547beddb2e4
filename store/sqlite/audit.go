package sqlite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigra-go/sigra/store"
)

// maxAuditPage is the default and largest page of QueryAudit.
const maxAuditPage = 100

// qAppendAudit is AppendAudit's insert (prepared on the writer: see
// signInWrites).
const qAppendAudit = `INSERT INTO sigra_audit_log (id, at, action, actor_id, subject_id, impersonator_id, ip, user_agent, outcome, metadata, org_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendAudit stores e, filling an empty ID and zero At. Metadata is stored
// as a JSON object.
func (db *DB) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	if e.ID == "" {
		e.ID = store.NewID()
	}
	if e.At.IsZero() {
		e.At = clock()
	}
	var meta string
	if len(e.Metadata) > 0 {
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return fmt.Errorf("sigra/sqlite: AppendAudit: %w", err)
		}
		meta = string(b)
	}
	_, err := db.exec(ctx, qAppendAudit,
		e.ID, ms(e.At), e.Action, e.ActorID, e.SubjectID, e.ImpersonatorID, e.IP, e.UserAgent, e.Outcome, meta, e.OrgID)
	return wrap("AppendAudit", err)
}

// QueryAudit returns one page of matching events, newest first (ordered by
// time, then ID), and the cursor of the next page. A cursor that this
// package did not produce is refused with an error wrapping
// store.ErrNotFound.
func (db *DB) QueryAudit(ctx context.Context, q store.AuditQuery) ([]*store.AuditEvent, string, error) {
	return db.searchAudit(ctx, "QueryAudit", store.AuditSearch{
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
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+` = ?`)
			args = append(args, v)
		}
	}
	if q.UserID != "" {
		where = append(where, `(actor_id = ? OR subject_id = ?)`)
		args = append(args, q.UserID, q.UserID)
	}
	if q.OrgID != "" {
		// org_id <> '' (implied) lets the planner use the partial index
		// sigra_audit_org.
		where = append(where, `org_id = ? AND org_id <> ''`)
		args = append(args, q.OrgID)
	}
	eq("action", q.Action)
	eq("actor_id", q.ActorID)
	eq("subject_id", q.SubjectID)
	eq("outcome", q.Outcome)
	if q.IP != "" {
		where = append(where, `ip = ? AND ip <> ''`)
		args = append(args, q.IP)
	}
	if !q.Since.IsZero() {
		where = append(where, `at >= ?`)
		args = append(args, ms(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, `at < ?`)
		args = append(args, ms(q.Until))
	}
	if q.After != "" {
		at, id, err := decodeCursor(q.After)
		if err != nil {
			return nil, "", fmt.Errorf("sigra/sqlite: %s: %w: %w", op, err, store.ErrNotFound)
		}
		where = append(where, `(at, id) < (?, ?)`)
		args = append(args, at, id)
	}
	query := `SELECT ` + auditColumns + ` FROM sigra_audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := db.r(ctx).QueryContext(ctx, query, args...)
	events, err := scanAudit(op, rows, err)
	if err != nil {
		return nil, "", err
	}
	if len(events) <= limit {
		return events, "", nil
	}
	events = events[:limit]
	last := events[limit-1]
	return events, encodeCursor(last.At.UnixMilli(), last.ID), nil
}

// encodeCursor encodes the position after the event at at with id as an
// opaque, URL-safe string.
func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

// decodeCursor reverses encodeCursor. Cursors come back from clients: any
// string that encodeCursor cannot have produced is an error.
func decodeCursor(s string) (at int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", fmt.Errorf("invalid cursor")
	}
	atText, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return 0, "", fmt.Errorf("invalid cursor")
	}
	at, err = strconv.ParseInt(atText, 10, 64)
	if err != nil || strconv.FormatInt(at, 10) != atText {
		return 0, "", fmt.Errorf("invalid cursor")
	}
	return at, id, nil
}
