package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/store"
)

// exportPage is the page size of an export: the export streams page by
// page and never holds more than one.
const exportPage = 100

// The forms of a time in the explorer's filter, tried in order; all but
// RFC 3339 are read in UTC.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// readAuditFilter reads the explorer's query string into the filter and
// the store's search; fields holds the refused parameters. Actor and
// subject take a user ID or an address, the organization a slug or an
// ID.
func (c *Console) readAuditFilter(r *http.Request) (AuditFilter, store.AuditSearch, map[string]string, error) {
	ctx := r.Context()
	v := r.URL.Query()
	fields := map[string]string{}
	text := func(name string) string {
		s := trimmed(v.Get(name))
		if len(s) > maxSearch || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			fields[name] = "This is too long or not valid text."
			return ""
		}
		return s
	}
	f := AuditFilter{
		Actor: text("actor"), Subject: text("subject"), Action: text("action"), Outcome: text("outcome"),
		Org: text("org"), IP: text("ip"), Since: text("since"), Until: text("until"),
	}
	q := store.AuditSearch{Action: f.Action, IP: f.IP, After: text("after"), Limit: c.cfg.PageSize}
	if f.Outcome != "" && f.Outcome != audit.OutcomeSuccess && f.Outcome != audit.OutcomeFailure {
		fields["outcome"] = "Choose success or failure."
	}
	q.Outcome = f.Outcome
	user := func(name, ref string) (string, error) {
		if ref == "" || !strings.Contains(ref, "@") {
			return ref, nil
		}
		u, err := c.st.UserByEmail(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			fields[name] = "No user has this address."
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return u.ID, nil
	}
	var err error
	if q.ActorID, err = user("actor", f.Actor); err != nil {
		return f, q, nil, err
	}
	if q.SubjectID, err = user("subject", f.Subject); err != nil {
		return f, q, nil, err
	}
	if f.Org != "" {
		o, _, err := c.st.OrgBySlug(ctx, f.Org, c.k.Now())
		switch {
		case err == nil:
			q.OrgID = o.ID
		case errors.Is(err, store.ErrNotFound):
			q.OrgID = f.Org // an ID, or an organization deleted since
		default:
			return f, q, nil, err
		}
	}
	at := func(name, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		for _, l := range timeLayouts {
			if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				return t.UTC()
			}
		}
		fields[name] = "Use a date such as 2026-03-14, or a date and time such as 2026-03-14T15:09."
		return time.Time{}
	}
	q.Since, q.Until = at("since", f.Since), at("until", f.Until)
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		fields["until"] = "The end must come after the start."
	}
	return f, q, fields, nil
}

// values are the text fields of f, by name.
func (f AuditFilter) values() map[string]string {
	return map[string]string{"actor": f.Actor, "subject": f.Subject, "action": f.Action, "org": f.Org, "ip": f.IP, "since": f.Since, "until": f.Until}
}

// auditValues is the query string of f.
func auditValues(f AuditFilter) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": f.Actor, "subject": f.Subject, "action": f.Action, "outcome": f.Outcome,
		"org": f.Org, "ip": f.IP, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (c *Console) auditData(f AuditFilter) *AuditData {
	d := &AuditData{Filter: f, Events: []EventItem{}}
	v := auditValues(f)
	export := c.k.Path(pathAuditExport)
	v.Set("format", "csv")
	d.CSVURL = export + "?" + v.Encode()
	v.Set("format", "jsonl")
	d.JSONLURL = export + "?" + v.Encode()
	return d
}

// auditPage serves the audit explorer.
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	f, q, fields, err := c.readAuditFilter(r)
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	refuse := func(fields map[string]string) {
		c.k.FormError(w, r, http.StatusBadRequest, "admin_audit", kernel.Built(withValues(c.k.Page(r, titleAudit, c.auditData(f)), f.values())),
			"invalid_input", "Check the highlighted fields.", fields)
	}
	if len(fields) > 0 {
		refuse(fields)
		return
	}
	events, next, err := c.st.SearchAudit(r.Context(), q)
	if err != nil && q.After != "" && !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, r.Context().Err()) {
		refuse(map[string]string{"after": "This page link is not valid. Start from the first page."})
		return
	}
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	d := c.auditData(f)
	for _, e := range events {
		d.Events = append(d.Events, c.eventItem(e, true))
	}
	if next != "" {
		v := auditValues(f)
		v.Set("after", next)
		d.NextURL = c.k.Path(pathAudit) + "?" + v.Encode()
	}
	c.k.Render(w, r, http.StatusOK, "admin_audit", withValues(c.k.Page(r, titleAudit, d), f.values()), map[string]any{"events": d.Events, "next": next, "filter": f})
}

// auditEventPage serves one event with its seal.
func (c *Console) auditEventPage(w http.ResponseWriter, r *http.Request) {
	e, err := c.st.AuditEventByID(r.Context(), r.PathValue("event"))
	if errors.Is(err, store.ErrNotFound) {
		c.k.Fail(w, r, http.StatusNotFound, "not_found", "There is no such event.")
		return
	}
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	d := &AuditEventData{
		Event: c.eventItem(e, false), UserAgent: e.UserAgent, Impersonator: e.ImpersonatorID, Metadata: md,
		Seq: e.Seq, Hash: hexOf(e.Hash), PrevHash: hexOf(e.PrevHash),
	}
	c.k.Render(w, r, http.StatusOK, "admin_audit_event", c.k.Page(r, e.Action, d), map[string]any{
		"event": d.Event, "user_agent": d.UserAgent, "impersonator_id": d.Impersonator, "metadata": d.Metadata,
		"seq": d.Seq, "hash": d.Hash, "prev_hash": d.PrevHash,
	})
}

// auditExport streams the events of the filter as CSV (with the
// spreadsheet formula guard) or JSON Lines, a page at a time, newest
// first. The export itself is audited, with its filter, before the first
// byte is sent.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request) {
	f, q, fields, err := c.readAuditFilter(r)
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "jsonl" {
		fields["format"] = "Choose csv or jsonl."
	}
	if q.After != "" {
		fields["after"] = "An export starts from the newest event."
	}
	if len(fields) > 0 {
		c.k.FormError(w, r, http.StatusBadRequest, "admin_audit", kernel.Built(withValues(c.k.Page(r, titleAudit, c.auditData(f)), f.values())),
			"invalid_input", "Check the highlighted fields.", fields)
		return
	}
	// The first page is read before anything is sent, so that a store
	// that is down is answered 503.
	q.Limit = exportPage
	events, next, err := c.st.SearchAudit(r.Context(), q)
	if err != nil {
		c.k.Error(w, r, err)
		return
	}
	meta := map[string]string{"format": format}
	if s := auditValues(f).Encode(); s != "" {
		meta["filter"] = s
	}
	if err := c.record(r.Context(), ActionAuditExport, "", meta); err != nil {
		c.k.Error(w, r, err)
		return
	}
	name := "audit-" + c.k.Now().UTC().Format("20060102-150405")
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	var write func([]*store.AuditEvent) error
	var flush func() error
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		cw := audit.NewCSVWriter(w)
		write = func(evs []*store.AuditEvent) error { return cw.Write(evs...) }
		flush = cw.Flush
	} else {
		h.Set("Content-Type", "application/jsonl; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+name+`.jsonl"`)
		write = func(evs []*store.AuditEvent) error { return audit.WriteJSONLines(w, evs) }
		flush = func() error { return nil }
	}
	fl, _ := w.(http.Flusher)
	for {
		if err := write(events); err != nil {
			c.k.LogFailure(r.Context(), "audit export cut short", err)
			return
		}
		if next == "" {
			break
		}
		if fl != nil {
			_ = flush()
			fl.Flush()
		}
		q.After = next
		if events, next, err = c.st.SearchAudit(r.Context(), q); err != nil {
			// The status went with the first page: a failure now can
			// only cut the export short, which the log records.
			c.k.LogFailure(r.Context(), "audit export cut short", err)
			return
		}
	}
	if err := flush(); err != nil {
		c.k.LogFailure(r.Context(), "audit export cut short", err)
	}
}
