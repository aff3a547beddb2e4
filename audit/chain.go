package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// Defaults of [ChainConfig] and [Chain.Run].
const (
	// DefaultSealInterval is how often Run seals when given no interval:
	// the longest a row stays unprotected while the sealer runs.
	DefaultSealInterval = time.Second
	// DefaultSealBatch is how many rows one Seal seals at most.
	DefaultSealBatch = 500
	// DefaultMaxUnsealedAge is how old an unsealed row may be before
	// Verify reports it.
	DefaultMaxUnsealedAge = time.Minute
	// MinChainKeyLen is the shortest chain key accepted, in bytes.
	MinChainKeyLen = 32
)

// maxSealAttempts bounds how often Seal starts again after losing a race
// with another sealer.
const maxSealAttempts = 8

// verifyPage is how many rows Verify reads at a time.
const verifyPage = 1000

// Errors of the chain.
var (
	// ErrInvalidAnchor: a text is not an anchor of [Anchor.String].
	ErrInvalidAnchor = errors.New("sigra/audit: invalid anchor")
	// ErrInvalidChainKey: a chain key is not base64 or shorter than
	// MinChainKeyLen bytes.
	ErrInvalidChainKey = errors.New("sigra/audit: invalid chain key")
)

// ChainConfig configures a [Chain]. Store is required; the other zero
// fields are the defaults.
type ChainConfig struct {
	// Store holds the audit rows and the chain's head.
	Store store.AuditChain
	// Key, when set, makes each row's hash an HMAC-SHA256 with this key
	// (at least MinChainKeyLen bytes; [ParseChainKey] reads one): kept
	// outside the database, it stops someone who can write the database
	// from computing a valid chain over rows they changed. Nil hashes
	// with plain SHA-256, which detects accidents and clumsy edits but
	// not someone who recomputes the chain. Every instance and the
	// operator's tool must use the same key, and a chain sealed with one
	// key verifies only with it.
	Key []byte
	// Batch is how many rows one [Chain.Seal] seals at most. Default
	// DefaultSealBatch.
	Batch int
	// MaxUnsealedAge is how long a row may stay unsealed before
	// [Chain.Verify] reports it. Default DefaultMaxUnsealedAge.
	MaxUnsealedAge time.Duration
	// Now is the clock of Verify's unsealed rows. Default time.Now.
	Now func() time.Time
	// Logger receives Run's failures to seal. Default slog.Default().
	Logger *slog.Logger
}

// Chain seals audit rows into a hash chain and verifies it (see the package
// documentation, "Tamper evidence"). A Chain is safe for concurrent use, and
// several Chains on one store (one per instance of an application) seal
// safely side by side.
type Chain struct {
	st     store.AuditChain
	key    []byte
	batch  int
	maxAge time.Duration
	now    func() time.Time
	log    *slog.Logger
	wake   chan struct{}
}

// NewChain returns a Chain configured by cfg. It returns an error wrapping
// sigra.ErrConfig if cfg has no store, a key shorter than MinChainKeyLen,
// or a negative batch or age.
func NewChain(cfg ChainConfig) (*Chain, error) {
	bad := func(format string, args ...any) (*Chain, error) {
		return nil, fmt.Errorf("%w: audit chain: "+format, append([]any{sigra.ErrConfig}, args...)...)
	}
	switch {
	case cfg.Store == nil:
		return bad("Store is required")
	case cfg.Key != nil && len(cfg.Key) < MinChainKeyLen:
		return bad("Key is %d bytes, want at least %d", len(cfg.Key), MinChainKeyLen)
	case cfg.Batch < 0:
		return bad("Batch %d is negative", cfg.Batch)
	case cfg.MaxUnsealedAge < 0:
		return bad("MaxUnsealedAge %v is negative", cfg.MaxUnsealedAge)
	}
	c := &Chain{st: cfg.Store, key: slices.Clone(cfg.Key), batch: cfg.Batch, maxAge: cfg.MaxUnsealedAge,
		now: cfg.Now, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if c.batch == 0 {
		c.batch = DefaultSealBatch
	}
	if c.maxAge == 0 {
		c.maxAge = DefaultMaxUnsealedAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// ParseChainKey decodes a chain key written in base64 (standard or URL
// alphabet, padded or not), such as the output of
// "head -c 32 /dev/urandom | base64". It returns an error wrapping
// ErrInvalidChainKey if s is not base64 or decodes to fewer than
// MinChainKeyLen bytes; the error never quotes s.
func ParseChainKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) < MinChainKeyLen {
				return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidChainKey, len(k), MinChainKeyLen)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: not base64", ErrInvalidChainKey)
}

// canonicalTag starts every canonical encoding, so that the encoding can
// change one day without ambiguity.
const canonicalTag = "sigra.audit.v1"

// Canonical returns the canonical encoding of the row e that its hash
// commits to. Each field is written as its length (4 bytes, big-endian)
// followed by its bytes, in this order:
//
//	"sigra.audit.v1", id, at, action, actor_id, subject_id,
//	impersonator_id, org_id, ip, user_agent, outcome,
//
// where at is the row's time in UTC Unix milliseconds, in decimal; then
// the number of metadata entries (4 bytes, big-endian) and each entry as
// its key and its value, length-prefixed, in increasing byte order of the
// keys. Empty and nil metadata encode alike. The seal (Seq, PrevHash,
// Hash) is not part of it.
func Canonical(e *store.AuditEvent) []byte {
	size := 4 + len(canonicalTag) + 4 + len(e.ID) + 4 + 20 + 4*8 + len(e.Action) + len(e.ActorID) + len(e.SubjectID) +
		len(e.ImpersonatorID) + len(e.OrgID) + len(e.IP) + len(e.UserAgent) + len(e.Outcome) + 4
	for k, v := range e.Metadata {
		size += 8 + len(k) + len(v)
	}
	b := make([]byte, 0, size)
	field := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	field(canonicalTag)
	field(e.ID)
	field(strconv.FormatInt(e.At.UnixMilli(), 10))
	field(e.Action)
	field(e.ActorID)
	field(e.SubjectID)
	field(e.ImpersonatorID)
	field(e.OrgID)
	field(e.IP)
	field(e.UserAgent)
	field(e.Outcome)
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		field(k)
		field(e.Metadata[k])
	}
	return b
}

// newMAC returns the hash a link is computed with: HMAC-SHA256 with the
// chain key, or SHA-256 without one.
func (c *Chain) newMAC() hash.Hash {
	if c.key != nil {
		return hmac.New(sha256.New, c.key)
	}
	return sha256.New()
}

// link returns the hash of row e sealed at seq after a row whose hash is
// prev: MAC(prev || seq as 8 bytes big-endian || Canonical(e)), computed
// with mac (from newMAC), which it resets first.
func link(mac hash.Hash, prev []byte, seq int64, e *store.AuditEvent) []byte {
	mac.Reset()
	mac.Write(prev)
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(seq)))
	mac.Write(Canonical(e))
	return mac.Sum(nil)
}

// Seal seals one batch: the oldest unsealed rows, at most Config.Batch,
// continuing the chain's head, and returns how many it sealed (0 when none
// was waiting). When another sealer moved the head first it starts again
// from the new head, a few times, then returns an error wrapping
// store.ErrConflict. Rows are sealed in the order of their times; a row
// committed late (a long transaction) is sealed in a later batch, so the
// chain's order is the order of sealing.
func (c *Chain) Seal(ctx context.Context) (int, error) {
	for range maxSealAttempts {
		head, err := c.st.AuditChainHead(ctx)
		if err != nil {
			return 0, fmt.Errorf("sigra/audit: seal: %w", err)
		}
		rows, err := c.st.UnsealedAudit(ctx, c.batch)
		if err != nil {
			return 0, fmt.Errorf("sigra/audit: seal: %w", err)
		}
		if len(rows) == 0 {
			return 0, nil
		}
		seals := make([]store.AuditSeal, len(rows))
		seq, prev := head.Seq, head.Hash
		mac := c.newMAC()
		for i, r := range rows {
			seq++
			h := link(mac, prev, seq, r)
			seals[i] = store.AuditSeal{ID: r.ID, Seq: seq, PrevHash: prev, Hash: h}
			prev = h
		}
		err = c.st.SealAudit(ctx, head, seals)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sigra/audit: seal: %w", err)
		}
		return len(rows), nil
	}
	return 0, fmt.Errorf("sigra/audit: seal: the head moved %d times in a row: %w", maxSealAttempts, store.ErrConflict)
}

// Run seals until ctx ends: every interval (DefaultSealInterval when zero
// or less), and at once after [Chain.Wake], as many batches as are
// waiting. A failure (the store unreachable) is logged at level Error and
// retried at the next interval; a batch that lost the race to other
// sealers maxSealAttempts times in a row is logged at level Warn. Run one per instance; they share the work safely. It
// returns nil when ctx ends.
func (c *Chain) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultSealInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := c.Seal(ctx)
			if err != nil {
				// Losing every race to other instances' sealers is
				// rare and harmless; a conflict that persists is not
				// (a row sealed past the head blocks the chain).
				level := slog.LevelError
				if errors.Is(err, store.ErrConflict) {
					level = slog.LevelWarn
				}
				if ctx.Err() == nil {
					c.log.LogAttrs(ctx, level, "sigra/audit: sealing the audit chain failed", slog.String("error", err.Error()))
				}
				break
			}
			if n < c.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.wake:
		}
	}
}

// Wake makes Run seal now rather than at its next interval, for an
// application that has just committed audit rows. It never blocks.
func (c *Chain) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// anchorPrefix starts the text form of an anchor.
const anchorPrefix = "sigra-audit-anchor/v1"

// Anchor is a point of the chain an operator keeps outside the database:
// the sequence number and hash of the last sealed row, and when it was
// sealed. Verifying against an anchor kept from earlier detects rows
// removed from the end of the chain (with the head moved back), which the
// chain alone cannot show. Its text form (String, MarshalText) is one line:
//
//	sigra-audit-anchor/v1 seq=1234 hash=<64 hex digits> at=2026-03-14T15:09:26.535Z
type Anchor struct {
	Seq  int64
	Hash []byte
	At   time.Time
}

// String returns the anchor's text form.
func (a Anchor) String() string {
	at := ""
	if !a.At.IsZero() {
		at = " at=" + a.At.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s seq=%d hash=%s%s", anchorPrefix, a.Seq, hex.EncodeToString(a.Hash), at)
}

// MarshalText implements encoding.TextMarshaler with the text form.
func (a Anchor) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseAnchor].
func (a *Anchor) UnmarshalText(b []byte) error {
	p, err := ParseAnchor(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseAnchor reads an anchor's text form (see [Anchor]); surrounding
// space is ignored and at= is optional. Anything else is an error wrapping
// ErrInvalidAnchor.
func ParseAnchor(s string) (Anchor, error) {
	fields := strings.Fields(s)
	if len(fields) < 3 || len(fields) > 4 || fields[0] != anchorPrefix {
		return Anchor{}, fmt.Errorf("%w: want %q followed by seq=, hash= and at=", ErrInvalidAnchor, anchorPrefix)
	}
	var a Anchor
	seqText, ok := strings.CutPrefix(fields[1], "seq=")
	if !ok {
		return Anchor{}, fmt.Errorf("%w: no seq=", ErrInvalidAnchor)
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 1 || strconv.FormatInt(seq, 10) != seqText {
		return Anchor{}, fmt.Errorf("%w: seq is not a positive integer", ErrInvalidAnchor)
	}
	a.Seq = seq
	hashText, ok := strings.CutPrefix(fields[2], "hash=")
	if !ok {
		return Anchor{}, fmt.Errorf("%w: no hash=", ErrInvalidAnchor)
	}
	if a.Hash, err = hex.DecodeString(hashText); err != nil || len(a.Hash) != sha256.Size {
		return Anchor{}, fmt.Errorf("%w: hash is not %d hex digits", ErrInvalidAnchor, 2*sha256.Size)
	}
	if len(fields) == 4 {
		atText, ok := strings.CutPrefix(fields[3], "at=")
		if !ok {
			return Anchor{}, fmt.Errorf("%w: no at=", ErrInvalidAnchor)
		}
		if a.At, err = time.Parse(time.RFC3339Nano, atText); err != nil {
			return Anchor{}, fmt.Errorf("%w: at is not an RFC 3339 time", ErrInvalidAnchor)
		}
		a.At = a.At.UTC()
	}
	return a, nil
}

// Anchor returns the chain's current anchor: its head. The zero Anchor (Seq
// 0) means nothing is sealed yet.
func (c *Chain) Anchor(ctx context.Context) (Anchor, error) {
	h, err := c.st.AuditChainHead(ctx)
	if err != nil {
		return Anchor{}, fmt.Errorf("sigra/audit: anchor: %w", err)
	}
	return Anchor{Seq: h.Seq, Hash: h.Hash, At: h.SealedAt}, nil
}

// Reason says why a link of the chain is broken.
type Reason string

// Reasons of a [Break].
const (
	// ReasonEdited: the row's hash is not the hash of its content: a
	// field of the row (or its hash) was changed after sealing.
	ReasonEdited Reason = "edited"
	// ReasonMissing: no row has this sequence number although rows after
	// it (or the head) do: rows were deleted.
	ReasonMissing Reason = "missing"
	// ReasonLink: the row's previous hash is not the hash of the row
	// before it: rows were reordered, or deleted and renumbered.
	ReasonLink Reason = "link"
	// ReasonHead: the head's hash is not the hash of the last row (the
	// head or the last row was changed), or a row is sealed past the head
	// (written with a seal, or the head moved back).
	ReasonHead Reason = "head"
	// ReasonTruncated: an anchor's row is gone, or the head is behind the
	// anchor: rows were removed from the end of the chain.
	ReasonTruncated Reason = "truncated"
	// ReasonAnchor: the row at an anchor's sequence number has another
	// hash than the anchor: the chain was rewritten since the anchor.
	ReasonAnchor Reason = "anchor"
)

// Break is the first broken link Verify found.
type Break struct {
	// Seq is the sequence number where the chain breaks.
	Seq int64 `json:"seq"`
	// ID is the row found there; empty when none is (ReasonMissing,
	// ReasonTruncated).
	ID string `json:"id,omitempty"`
	// Reason is what is wrong.
	Reason Reason `json:"reason"`
	// Detail says it in a sentence.
	Detail string `json:"detail"`
}

// Report is the result of [Chain.Verify].
type Report struct {
	// From and To are the range of sequence numbers verified (To < From
	// when the chain is empty).
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Checked counts the rows whose links were checked.
	Checked int64 `json:"checked"`
	// Head is the chain's head when verification started.
	Head Anchor `json:"head"`
	// Anchors counts the anchors checked.
	Anchors int `json:"anchors"`
	// Broken is the first broken link, nil when none was found.
	Broken *Break `json:"broken"`
	// Unsealed counts the rows still unsealed that are older than
	// UnsealedBefore (now less Config.MaxUnsealedAge): the sealer is not
	// running, or someone wrote rows with a back-dated time. They are not
	// protected by the chain.
	Unsealed       int       `json:"unsealed"`
	UnsealedBefore time.Time `json:"unsealed_before"`
}

// OK reports whether no broken link was found. Unsealed rows do not make a
// report fail; they are reported for the operator to look into.
func (r *Report) OK() bool { return r.Broken == nil }

// VerifyOptions selects what [Chain.Verify] checks.
type VerifyOptions struct {
	// From and To bound the sequence numbers checked; From 0 is 1 and To
	// 0 (or past the head) is the head.
	From, To int64
	// Anchors are anchors kept from earlier; each is checked against the
	// row at its sequence number.
	Anchors []Anchor
	// Progress, when set, is called after each page of rows with the
	// number checked so far and the last sequence number checked.
	Progress func(checked, seq int64)
}

// Verify walks the chain from opt.From to opt.To in sequence order and
// returns a report of the first broken link it finds: a row whose content
// does not match its hash (edited), a sequence number without a row
// (missing: deleted), a row whose previous hash is not the hash of the row
// before (reordered, or deleted and renumbered), a head that is not the
// last row or rows sealed past it (when the range ends at the head). It then checks opt.Anchors
// (truncated or rewritten since the anchor), and counts rows left
// unsealed for longer than Config.MaxUnsealedAge. An error means the
// verification could not be done (the store failed), not that the chain
// is broken.
func (c *Chain) Verify(ctx context.Context, opt VerifyOptions) (*Report, error) {
	if opt.From < 0 || opt.To < 0 || (opt.To != 0 && opt.To < opt.From) {
		return nil, fmt.Errorf("sigra/audit: verify: range %d..%d is invalid", opt.From, opt.To)
	}
	head, err := c.Anchor(ctx)
	if err != nil {
		return nil, fmt.Errorf("sigra/audit: verify: %w", err)
	}
	r := &Report{From: max(opt.From, 1), To: opt.To, Head: head}
	if r.To == 0 || r.To > head.Seq {
		r.To = head.Seq
	}
	if err := c.walk(ctx, r, opt.Progress); err != nil {
		return nil, err
	}
	if r.Broken == nil && (opt.To == 0 || opt.To >= r.Head.Seq) {
		if err := c.checkPastHead(ctx, r); err != nil {
			return nil, err
		}
	}
	for _, a := range opt.Anchors {
		r.Anchors++
		if r.Broken != nil {
			break
		}
		if err := c.checkAnchor(ctx, r, a); err != nil {
			return nil, err
		}
	}
	r.UnsealedBefore = c.now().UTC().Add(-c.maxAge)
	if r.Unsealed, err = c.st.CountUnsealedAudit(ctx, r.UnsealedBefore); err != nil {
		return nil, fmt.Errorf("sigra/audit: verify: %w", err)
	}
	return r, nil
}

// walk checks the links of rows r.From..r.To, setting r.Broken at the
// first broken one.
func (c *Chain) walk(ctx context.Context, r *Report, progress func(checked, seq int64)) error {
	if r.To < r.From {
		return nil
	}
	var prev []byte
	if r.From > 1 {
		before, err := c.st.SealedAudit(ctx, r.From-1, r.From-1, 1)
		if err != nil {
			return fmt.Errorf("sigra/audit: verify: %w", err)
		}
		if len(before) == 0 {
			r.Broken = &Break{Seq: r.From - 1, Reason: ReasonMissing, Detail: fmt.Sprintf("no row has seq %d: it was deleted", r.From-1)}
			return nil
		}
		prev = before[0].Hash
	}
	next := r.From
	mac := c.newMAC()
	for next <= r.To {
		rows, err := c.st.SealedAudit(ctx, next, r.To, verifyPage)
		if err != nil {
			return fmt.Errorf("sigra/audit: verify: %w", err)
		}
		if len(rows) == 0 {
			r.Broken = &Break{Seq: next, Reason: ReasonMissing,
				Detail: fmt.Sprintf("no rows have seq %d to %d although the head is at %d: they were deleted", next, r.To, r.Head.Seq)}
			return nil
		}
		for _, e := range rows {
			switch {
			case e.Seq != next:
				r.Broken = &Break{Seq: next, Reason: ReasonMissing,
					Detail: fmt.Sprintf("no rows have seq %d to %d: they were deleted", next, e.Seq-1)}
			case !bytes.Equal(e.PrevHash, prev):
				r.Broken = &Break{Seq: e.Seq, ID: e.ID, Reason: ReasonLink,
					Detail: fmt.Sprintf("row %d does not follow row %d: rows were reordered, or deleted and renumbered", e.Seq, e.Seq-1)}
			case !hmac.Equal(link(mac, prev, e.Seq, e), e.Hash):
				r.Broken = &Break{Seq: e.Seq, ID: e.ID, Reason: ReasonEdited,
					Detail: fmt.Sprintf("row %d does not match its hash: it was changed after sealing", e.Seq)}
			}
			if r.Broken != nil {
				return nil
			}
			prev = e.Hash
			next++
			r.Checked++
		}
		if progress != nil {
			progress(r.Checked, next-1)
		}
	}
	if r.To == r.Head.Seq && !bytes.Equal(prev, r.Head.Hash) {
		r.Broken = &Break{Seq: r.To, Reason: ReasonHead,
			Detail: fmt.Sprintf("the head's hash is not the hash of row %d: the head or the row was changed", r.To)}
	}
	return nil
}

// checkPastHead sets r.Broken if a row is sealed past the head: a row
// written with a seal, or the head moved back without removing the rows
// after it.
func (c *Chain) checkPastHead(ctx context.Context, r *Report) error {
	rows, err := c.st.SealedAudit(ctx, r.Head.Seq+1, math.MaxInt64, 1)
	if err != nil {
		return fmt.Errorf("sigra/audit: verify: %w", err)
	}
	if len(rows) > 0 {
		r.Broken = &Break{Seq: rows[0].Seq, ID: rows[0].ID, Reason: ReasonHead,
			Detail: fmt.Sprintf("row %d is sealed past the head at %d: it was written with a seal, or the head was moved back", rows[0].Seq, r.Head.Seq)}
	}
	return nil
}

// checkAnchor checks that the chain still holds anchor a, setting r.Broken
// if not.
func (c *Chain) checkAnchor(ctx context.Context, r *Report, a Anchor) error {
	if a.Seq < 1 {
		return nil
	}
	if a.Seq > r.Head.Seq {
		r.Broken = &Break{Seq: a.Seq, Reason: ReasonTruncated,
			Detail: fmt.Sprintf("the anchor is at row %d but the head is at %d: rows were removed from the end", a.Seq, r.Head.Seq)}
		return nil
	}
	rows, err := c.st.SealedAudit(ctx, a.Seq, a.Seq, 1)
	if err != nil {
		return fmt.Errorf("sigra/audit: verify: %w", err)
	}
	switch {
	case len(rows) == 0:
		r.Broken = &Break{Seq: a.Seq, Reason: ReasonTruncated, Detail: fmt.Sprintf("the anchor's row %d is gone", a.Seq)}
	case !bytes.Equal(rows[0].Hash, a.Hash):
		r.Broken = &Break{Seq: a.Seq, ID: rows[0].ID, Reason: ReasonAnchor,
			Detail: fmt.Sprintf("row %d's hash is not the anchor's: the chain was rewritten since the anchor", a.Seq)}
	}
	return nil
}
