package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/audit"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/session"
	"github.com/sigra-go/sigra/store"
	"github.com/sigra-go/sigra/token"
	"github.com/sigra-go/sigra/ui"
)

// NewDeviceAlertConfig configures the email a user gets when their account
// is signed in to from a device not seen lately (see the package
// documentation, "New-device alerts"). The zero value turns the alerts on
// with the defaults below.
type NewDeviceAlertConfig struct {
	// Disabled turns the alerts off: no email, and the devices users sign
	// in from are not recorded. Links already sent keep working.
	Disabled bool
	// Window is how long a device stays known after a sign-in from it: a
	// sign-in from a device not seen for Window sends an alert. Default
	// 90 days.
	Window time.Duration
	// LinkTTL is how long the alert's "this wasn't me" link works. Default
	// 7 days.
	LinkTTL time.Duration
}

// purposeNotMe is the purpose of the token in a new-device alert's link.
const purposeNotMe = "new_device"

// notMeData is the Data of a purposeNotMe token: which sign-in the alert
// was about. Neither value is a secret.
type notMeData struct {
	// Session is the public ID of the session the sign-in created.
	Session string `json:"session"`
	// Device is the device's fingerprint (see deviceFingerprint).
	Device string `json:"device"`
}

// place returns the network a client address belongs to, as a prefix: the
// /24 of an IPv4 address (an IPv4-mapped IPv6 address counts as IPv4) and
// the /48 of an IPv6 address, the usual size of an ISP's assignment to one
// customer or site. A sign-in from the same home, office or mobile network
// usually keeps its prefix when its address changes. Something that is not
// an address (none is known) is returned as it is.
func place(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip // unreachable: bits fits both families
	}
	return p.String()
}

// deviceFingerprint is what identifies a device of a user in the store:
// the hex SHA-256 of the user's ID, the network (see place), the browser
// and the operating system. The raw address is never stored; the user's ID
// makes the same device of two users two unrelated values.
func deviceFingerprint(userID, network, browser, osName string) string {
	h := sha256.New()
	for _, part := range []string{userID, network, browser, osName} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// noticeNewDevice is told of every completed sign-in through the session
// manager (see session.Manager.OnSignIn), whichever feature completed it.
// It records the device in one store call and, when the device was not
// seen for the window and this is not the user's first sign-in, emails the
// user an alert with a "this wasn't me" link: the link's token, the email
// and the audit row in one transaction. A failure is logged; the sign-in
// goes on.
func (h *Handler) noticeNewDevice(ctx context.Context, a *sigra.Auth) {
	cfg := h.cfg.NewDeviceAlert
	if cfg.Disabled {
		return
	}
	ip, ua := audit.RequestInfo(ctx)
	browser, osName := session.ParseUserAgent(ua)
	fp := deviceFingerprint(a.User.ID, place(ip), browser, osName)
	now := h.k.Now()
	first, last, err := h.st.SeenDevice(ctx, a.User.ID, fp, now, now.Add(-cfg.Window))
	if err != nil {
		h.k.LogFailure(ctx, "new-device check failed", err, "user", a.User.ID)
		return
	}
	if first || last.After(now.Add(-cfg.Window)) {
		return
	}
	if err := h.sendNewDeviceAlert(ctx, a, fp, browser, osName, now); err != nil {
		h.k.LogFailure(ctx, "new-device alert not sent", err, "user", a.User.ID)
	}
}

// sendNewDeviceAlert queues the alert about the sign-in a from the device
// fp, with the link's token and the audit row, in one transaction.
func (h *Handler) sendNewDeviceAlert(ctx context.Context, a *sigra.Auth, fp, browser, osName string, now time.Time) error {
	data, err := json.Marshal(notMeData{Session: a.SessionID, Device: fp})
	if err != nil {
		return err
	}
	tok, err := token.New()
	if err != nil {
		return err
	}
	ttl := h.cfg.NewDeviceAlert.LinkTTL
	ip, ua := audit.RequestInfo(ctx)
	return h.k.InTx(ctx, func(ctx context.Context) error {
		if err := h.st.CreateToken(ctx, &store.Token{
			Digest: token.Digest(tok), Purpose: purposeNotMe, UserID: a.User.ID, SentTo: a.User.Email,
			Data: string(data), CreatedAt: now, ExpiresAt: now.Add(ttl),
		}); err != nil {
			return err
		}
		mail := &ui.Email{
			IP: ip, UserAgent: ua, When: now,
			Link: h.k.Link(pathNotMe, tok), ExpiresIn: kernel.TTLText(ttl),
			Data: &NewDeviceMail{Browser: browser, OS: osName},
		}
		if err := h.k.Queue(ctx, "new_device", a.User.Email, mail); err != nil {
			return err
		}
		return h.k.Record(ctx, audit.ActionNewDeviceAlert, "", a.User.ID, map[string]string{"device_id": a.SessionID})
	})
}

// notMePage is where the alert's link lands. GET changes nothing (mail
// scanners follow links): it shows a button whose POST acts.
func (h *Handler) notMePage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := h.k.LiveLink(w, r, h.st, tok, purposeNotMe, h.expired); !ok {
		return
	}
	h.k.Render(w, r, http.StatusOK, "new_device_confirm", h.k.Page(r, "Wasn't you?", &TokenData{Token: tok}), nil)
}

// notMe consumes the alert's token (one statement: of two tabs, one wins)
// and, in the same transaction, revokes the session of the sign-in the
// alert was about, forgets its device (a sign-in from it alerts again),
// records the event and starts a password reset (the reset email is
// queued with the rest). If that session has ended or changed since (a
// sign-out, a sudo renewal), every session of the user is revoked
// instead: the stranger may still hold it under another ID. The token must
// still match the account's address.
func (h *Handler) notMe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, tok, ok := h.k.OpenLink(w, r, h.expired)
	if !ok {
		return
	}
	now := h.k.Now()
	var (
		u       *store.User
		d       notMeData
		all     bool
		revoked int
	)
	err := h.k.InTx(ctx, func(ctx context.Context) error {
		t, err := h.st.ConsumeToken(ctx, purposeNotMe, token.Digest(tok), now)
		if err != nil {
			return err
		}
		if u, err = h.st.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if store.NormalizeEmail(u.Email) != store.NormalizeEmail(t.SentTo) {
			return store.ErrNotFound // sent to an address the account no longer has
		}
		if json.Unmarshal([]byte(t.Data), &d) != nil {
			d = notMeData{} // unreadable: sign out everything below
		}
		err = store.ErrNotFound
		if d.Session != "" {
			err = h.st.RevokeSessionByID(ctx, u.ID, d.Session, now)
		}
		switch {
		case err == nil:
			revoked = 1
		case errors.Is(err, store.ErrNotFound):
			all = true
			if revoked, err = h.st.RevokeUserSessions(ctx, u.ID, nil, now); err != nil {
				return err
			}
		default:
			return err
		}
		if d.Device != "" {
			if err := h.st.ForgetDevice(ctx, u.ID, d.Device); err != nil {
				return err
			}
		}
		meta := map[string]string{"revoked": strconv.Itoa(revoked)}
		if d.Session != "" {
			meta["device_id"] = d.Session
		}
		if err := h.k.Record(ctx, audit.ActionNewDeviceNotMe, u.ID, u.ID, meta); err != nil {
			return err
		}
		return h.startReset(r.WithContext(ctx), u)
	})
	if errors.Is(err, store.ErrNotFound) {
		h.k.RecordFailure(ctx, audit.ActionNewDeviceNotMe, "", "", map[string]string{"reason": "invalid_token"})
		h.expired(w, r)
		return
	}
	if err != nil {
		h.k.Error(w, r, err)
		return
	}
	// This browser may hold one of the sessions just revoked: forget it
	// here too.
	if a := sigra.AuthFrom(ctx); a.User != nil && a.User.ID == u.ID && (all || a.SessionID == d.Session) {
		if err := h.k.Sess.SignOut(ctx); err != nil {
			h.k.LogFailure(ctx, "sign out after a disowned sign-in failed", err)
		}
	}
	title, signedOut := "Browser signed out", "session"
	msg := "We signed that browser out and sent you a link to choose a new password."
	if all {
		title, signedOut = "Signed out everywhere", "all"
		msg = "We signed out every browser signed in to your account and sent you a link to choose a new password."
	}
	h.k.Render(w, r, http.StatusOK, "new_device_done", h.k.Page(r, title, &NewDeviceDoneData{AllSessions: all, Email: u.Email}),
		map[string]any{"ok": true, "message": msg, "signed_out": signedOut, "revoked": revoked})
}
