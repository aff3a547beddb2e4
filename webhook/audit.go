package webhook

import (
	"context"
	"maps"
	"time"

	"github.com/sigra-go/sigra/store"
)

// ActionReplay is the audit action of a delivery queued again by an
// operator (the admin console, the command-line tool): its metadata names
// the delivery ("delivery") and its event type ("event_type"). The
// package does not record it; the caller of [Webhooks.Replay] (or of the
// store's ReplayWebhook) does, in the same transaction.
const ActionReplay = "webhook.replay"

// AuditData is the "data" of an event that comes from the audit log (see
// [Webhooks.OnAudit]): a stable JSON shape, the same for every action.
//
//	{
//	  "type": "account.password_change",
//	  "timestamp": "2026-01-02T03:04:05Z",
//	  "data": {
//	    "action": "account.password_change",
//	    "at": "2026-01-02T03:04:05.123456Z",
//	    "actor_id": "0194...",
//	    "subject_id": "0194...",
//	    "impersonator_id": "",
//	    "org_id": "",
//	    "outcome": "success",
//	    "metadata": {"reason": "breached"}
//	  }
//	}
//
// Empty IDs are empty strings and metadata without entries is {}, so that
// every field is always present. The client's IP address and user agent
// are not sent. Metadata holds no secret: the audit package refuses
// secret-looking keys.
type AuditData struct {
	// Action is the audit action, the event's type as well.
	Action string `json:"action"`
	// At is when the event was recorded, in UTC.
	At time.Time `json:"at"`
	// ActorID is the user who did it; empty for an anonymous actor or the
	// system.
	ActorID string `json:"actor_id"`
	// SubjectID is the user it was done to or for.
	SubjectID string `json:"subject_id"`
	// ImpersonatorID is the administrator acting as ActorID, if any.
	ImpersonatorID string `json:"impersonator_id"`
	// OrgID is the organization the event happened in, if any.
	OrgID string `json:"org_id"`
	// Outcome is always "success": failure events are not sent.
	Outcome string `json:"outcome"`
	// Metadata are the event's details ("method", "reason", ...).
	Metadata map[string]string `json:"metadata"`
}

// OnAudit queues the audit event e for the endpoints subscribed to its
// action, as [Webhooks.Enqueue] does, with an [AuditData] as its data. It
// has the signature of the audit package's Config.OnRecord: given to it,
// every success event a feature records reaches the subscribers, queued
// in the transaction of the change (so a change that rolls back sends
// nothing), without the application enqueuing anything. The audit Logger
// passes success events only; a failure event given here is ignored all
// the same. An error fails the audit record, and so the change.
func (w *Webhooks) OnAudit(ctx context.Context, e *store.AuditEvent) error {
	if e == nil || e.Outcome != "success" {
		return nil
	}
	meta := maps.Clone(e.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	_, err := w.Enqueue(ctx, e.Action, AuditData{
		Action: e.Action, At: e.At.UTC(), ActorID: e.ActorID, SubjectID: e.SubjectID,
		ImpersonatorID: e.ImpersonatorID, OrgID: e.OrgID, Outcome: e.Outcome, Metadata: meta,
	})
	return err
}

// Actions returns the audit actions this package records besides the
// audit catalogue's, for audit.Config.Actions of a strict logger.
func Actions() []string {
	return []string{
		ActionReplay,
	}
}
