package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// The parts of the admin console's store.
const (
	// Admins checks [store.Admins]: granting (refused for an unknown user
	// and twice, of concurrent grants one succeeds), revoking, listing,
	// and the role going with the account (DeleteUser, AnonymizeUser);
	// when the store is a [store.Transactor], that HoldAdmin in a
	// transaction holds its answer against a concurrent GrantAdmin, both
	// ways round.
	// Needs store.Users and store.Admins.
	Admins Part = "Admins"
	// UserDirectory checks [store.UserDirectory]: keyset pages in the
	// order of the address key (stable across inserts), the prefix search
	// on the key, each state filter, and refused cursors and states; the
	// two-factor, passkey, organization and administrator filters and
	// marks when the store has store.TOTP, store.Passkeys, the
	// organization interfaces and store.Admins. Needs store.Users and
	// store.UserDirectory.
	UserDirectory Part = "UserDirectory"
	// AuditExplorer checks [store.AuditExplorer]: every filter alone and
	// combined, keyset pages across equal times, refused cursors, and one
	// event by ID. Needs store.AuditLog and store.AuditExplorer.
	AuditExplorer Part = "AuditExplorer"
)

// adminStore is what the Admins part needs.
type adminStore interface {
	store.Users
	store.Admins
}

// directoryStore is what the UserDirectory part needs.
type directoryStore interface {
	store.Users
	store.UserDirectory
}

// explorerStore is what the AuditExplorer part needs.
type explorerStore interface {
	store.AuditLog
	store.AuditExplorer
}

func adminChecks() []check {
	return []check{
		checkOf("GrantRevoke", testGrantRevoke),
		checkOf("GrantAdmin/Refused", testGrantAdminRefused),
		checkOf("GrantAdmin/Concurrent", testGrantAdminConcurrent),
		checkOf("RevokeAdmin/Last", testRevokeLastAdmin),
		checkEnv("HoldAdmin", testHoldAdmin),
		checkOf("DeleteUser", func(t *testing.T, s adminStore) { testAdminUserGone(t, s, false) }),
		checkOf("AnonymizeUser", func(t *testing.T, s adminStore) { testAdminUserGone(t, s, true) }),
	}
}

func directoryChecks() []check {
	return []check{
		checkEnv("ListUsers/Pages", testListUsersPages),
		checkOf("ListUsers/Prefix", testListUsersPrefix),
		checkOf("ListUsers/States", testListUsersStates),
		checkEnv("ListUsers/Factors", testListUsersFactors),
		checkOf("ListUsers/Refused", testListUsersRefused),
	}
}

func explorerChecks() []check {
	return []check{
		checkOf("SearchAudit/Filters", testSearchAuditFilters),
		checkOf("SearchAudit/Pages", testSearchAuditPages),
		checkOf("AuditEventByID", testAuditEventByID),
	}
}

func isAdmin(t *testing.T, s store.Admins, id string) bool {
	t.Helper()
	ok, err := s.IsAdmin(t.Context(), id)
	must(t, "IsAdmin", err)
	return ok
}

func testGrantRevoke(t *testing.T, s adminStore) {
	ctx := t.Context()
	root := newUser(t, s, "root@example.com")
	u := newUser(t, s, "user@example.com")
	if isAdmin(t, s, u.ID) {
		t.Fatal("IsAdmin before any grant: got true")
	}
	must(t, "GrantAdmin(root, operator)", s.GrantAdmin(ctx, root.ID, "", at(0)))
	must(t, "GrantAdmin(user, root)", s.GrantAdmin(ctx, u.ID, root.ID, at(time.Minute)))
	if !isAdmin(t, s, u.ID) || !isAdmin(t, s, root.ID) {
		t.Fatal("IsAdmin after GrantAdmin: got false")
	}
	list, err := s.ListAdmins(ctx)
	must(t, "ListAdmins", err)
	if len(list) != 2 || list[0].UserID != root.ID || list[1].UserID != u.ID {
		t.Fatalf("ListAdmins: got %d rows, want root then user", len(list))
	}
	if list[0].GrantedBy != "" || list[1].GrantedBy != root.ID || list[1].Email != "user@example.com" {
		t.Errorf("ListAdmins: got %+v %+v", *list[0], *list[1])
	}
	sameTime(t, "GrantedAt", list[1].GrantedAt, at(time.Minute))
	must(t, "RevokeAdmin", s.RevokeAdmin(ctx, u.ID))
	if isAdmin(t, s, u.ID) {
		t.Error("IsAdmin after RevokeAdmin: got true")
	}
	wantErr(t, "RevokeAdmin again", s.RevokeAdmin(ctx, u.ID), store.ErrNotFound)
	if ok, err := s.IsAdmin(ctx, "no-such-user"); ok || err != nil {
		t.Errorf("IsAdmin(unknown): got %v, %v; want false, nil", ok, err)
	}
}

func testGrantAdminRefused(t *testing.T, s adminStore) {
	ctx := t.Context()
	u := newUser(t, s, "user@example.com")
	wantErr(t, "GrantAdmin(unknown user)", s.GrantAdmin(ctx, "no-such-user", "", at(0)), store.ErrNotFound)
	must(t, "GrantAdmin", s.GrantAdmin(ctx, u.ID, "no-such-grantor", at(0)))
	wantErr(t, "GrantAdmin twice", s.GrantAdmin(ctx, u.ID, "", at(time.Hour)), store.ErrConflict)
	list, err := s.ListAdmins(ctx)
	must(t, "ListAdmins", err)
	if len(list) != 1 || list[0].GrantedBy != "" {
		t.Fatalf("ListAdmins: got %d rows (granted by %q), want one granted by nobody (an unknown grantor is not kept)", len(list), list[0].GrantedBy)
	}
	sameTime(t, "GrantedAt after a refused second grant", list[0].GrantedAt, at(0))
}

func testGrantAdminConcurrent(t *testing.T, s adminStore) {
	u := newUser(t, s, "user@example.com")
	errs := race(8, func(int) error { return s.GrantAdmin(t.Context(), u.ID, "", at(0)) })
	if ok, conflicts := countOutcomes(t, "concurrent GrantAdmin", errs, store.ErrConflict); ok != 1 || conflicts != 7 {
		t.Errorf("concurrent GrantAdmin: %d succeeded and %d conflicted, want 1 and 7", ok, conflicts)
	}
}

func testAdminUserGone(t *testing.T, s adminStore, anonymize bool) {
	ctx := t.Context()
	root := newUser(t, s, "root@example.com")
	u := newUser(t, s, "user@example.com")
	must(t, "GrantAdmin(root)", s.GrantAdmin(ctx, root.ID, "", at(0)))
	must(t, "GrantAdmin(user)", s.GrantAdmin(ctx, u.ID, root.ID, at(0)))
	if anonymize {
		must(t, "AnonymizeUser", s.AnonymizeUser(ctx, u.ID, at(time.Hour)))
		if isAdmin(t, s, u.ID) {
			t.Error("IsAdmin after AnonymizeUser: got true, want the role gone with the account")
		}
		return
	}
	must(t, "DeleteUser(root)", s.DeleteUser(ctx, root.ID))
	list, err := s.ListAdmins(ctx)
	must(t, "ListAdmins", err)
	if len(list) != 1 || list[0].UserID != u.ID || list[0].GrantedBy != "" {
		t.Fatalf("ListAdmins after the grantor's deletion: got %d rows, want the user's with GrantedBy empty", len(list))
	}
	must(t, "DeleteUser(user)", s.DeleteUser(ctx, u.ID))
	if isAdmin(t, s, u.ID) {
		t.Error("IsAdmin after DeleteUser: got true")
	}
}

// listAll pages through q with page size n and returns the addresses.
func listAll(t *testing.T, s store.UserDirectory, q store.UserQuery, n int) []string {
	t.Helper()
	var out []string
	q.Limit = n
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("ListUsers: the pages never end")
		}
		rows, next, err := s.ListUsers(t.Context(), q)
		must(t, "ListUsers", err)
		if len(rows) > n {
			t.Fatalf("ListUsers: got %d rows, want at most %d", len(rows), n)
		}
		for _, r := range rows {
			out = append(out, r.Email)
		}
		if next == "" {
			return out
		}
		q.After = next
	}
}

func testListUsersPages(t *testing.T, s directoryStore, e env) {
	var want []string
	for i := range 23 {
		email := fmt.Sprintf("user%02d@example.com", 22-i)
		newUser(t, s, email)
		want = append(want, email)
	}
	slices.Sort(want)
	for _, n := range []int{1, 5, 10, 23, 100} {
		if got := listAll(t, s, store.UserQuery{}, n); !slices.Equal(got, want) {
			t.Errorf("pages of %d: got %q, want %q", n, got, want)
		}
	}
	// A user created between pages after the cursor shows up; one before
	// it does not shift the pages.
	rows, next, err := s.ListUsers(t.Context(), store.UserQuery{Limit: 10})
	must(t, "ListUsers", err)
	newUser(t, s, "aaa@example.com")
	newUser(t, s, "zzz@example.com")
	rest := listAll(t, s, store.UserQuery{After: next}, 10)
	if len(rows) != 10 || len(rest) != 14 || rest[0] != want[10] || rest[13] != "zzz@example.com" {
		t.Errorf("pages across inserts: got %d then %q", len(rows), rest)
	}
	if a, ok := as[store.Admins](e); ok {
		u := newUser(t, s, "boss@example.com")
		must(t, "GrantAdmin", a.GrantAdmin(t.Context(), u.ID, "", at(0)))
		rows, _, err := s.ListUsers(t.Context(), store.UserQuery{EmailPrefix: "boss"})
		must(t, "ListUsers", err)
		if len(rows) != 1 || !rows[0].Admin {
			t.Errorf("ListUsers(boss): got %d rows, want one marked Admin", len(rows))
		}
	}
}

func testListUsersPrefix(t *testing.T, s directoryStore) {
	for _, e := range []string{"Alice@Example.com", "alan@example.com", "bob@example.com", "al@other.example", "xalice@example.com"} {
		newUser(t, s, e)
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"al", []string{"al@other.example", "alan@example.com", "Alice@Example.com"}},
		{"ALI", []string{"Alice@Example.com"}},
		{"alice@example.com", []string{"Alice@Example.com"}},
		{"alice@example.comx", nil},
		{"b", []string{"bob@example.com"}},
		{"%", nil},
		{"_", nil},
	} {
		got := listAll(t, s, store.UserQuery{EmailPrefix: c.prefix}, 2)
		if !slices.Equal(got, c.want) {
			t.Errorf("prefix %q: got %q, want %q", c.prefix, got, c.want)
		}
	}
}

func testListUsersStates(t *testing.T, s directoryStore) {
	ctx := t.Context()
	now := at(time.Hour)
	mk := func(email string, confirmed bool) *store.User {
		u := &store.User{Email: email, CreatedAt: t0}
		if confirmed {
			u.EmailConfirmedAt = t0
		}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		return u
	}
	mk("plain@example.com", true)
	mk("unconfirmed@example.com", false)
	d := mk("disabled@example.com", true)
	must(t, "SetDisabled", s.SetDisabled(ctx, d.ID, now, now))
	del := mk("deleting@example.com", true)
	must(t, "ScheduleDeletion", s.ScheduleDeletion(ctx, del.ID, now.Add(24*time.Hour), now))
	l := mk("locked@example.com", true)
	_, err := s.RecordFailure(ctx, l.ID, store.LockPassword, 1, time.Hour, now)
	must(t, "RecordFailure", err)
	m := mk("mfalocked@example.com", true)
	_, err = s.RecordFailure(ctx, m.ID, store.LockMFA, 1, time.Hour, now)
	must(t, "RecordFailure(mfa)", err)
	old := mk("expired@example.com", true)
	_, err = s.RecordFailure(ctx, old.ID, store.LockPassword, 1, time.Minute, t0)
	must(t, "RecordFailure(expired)", err)
	for _, c := range []struct {
		state store.UserState
		want  []string
	}{
		{store.UserUnconfirmed, []string{"unconfirmed@example.com"}},
		{store.UserDisabled, []string{"disabled@example.com"}},
		{store.UserDeletionPending, []string{"deleting@example.com"}},
		{store.UserLocked, []string{"locked@example.com", "mfalocked@example.com"}},
	} {
		got := listAll(t, s, store.UserQuery{State: c.state, Now: now}, 1)
		if !slices.Equal(got, c.want) {
			t.Errorf("state %s: got %q, want %q", c.state, got, c.want)
		}
	}
	if got := listAll(t, s, store.UserQuery{State: store.UserLocked, Now: now.Add(2 * time.Hour)}, 10); len(got) != 0 {
		t.Errorf("state locked after the locks ended: got %q, want none", got)
	}
	if got := listAll(t, s, store.UserQuery{State: store.UserDisabled, EmailPrefix: "p"}, 10); len(got) != 0 {
		t.Errorf("disabled with prefix p: got %q, want none", got)
	}
}

func testListUsersFactors(t *testing.T, s directoryStore, e env) {
	ctx := t.Context()
	plain := newUser(t, s, "plain@example.com")
	withTOTP := newUser(t, s, "totp@example.com")
	pending := newUser(t, s, "pending@example.com")
	withKey := newUser(t, s, "passkey@example.com")
	if ts, ok := as[store.TOTP](e); ok {
		for _, u := range []*store.User{withTOTP, pending} {
			must(t, "SavePendingTOTP", ts.SavePendingTOTP(ctx, &store.TOTPSecret{UserID: u.ID, Sealed: []byte("sealed"), CreatedAt: t0}))
		}
		must(t, "UseTOTPStep", ts.UseTOTPStep(ctx, withTOTP.ID, 100, true, t0))
		got := listAll(t, s, store.UserQuery{TwoFactor: true}, 10)
		if !slices.Equal(got, []string{"totp@example.com"}) {
			t.Errorf("two-factor: got %q, want only the confirmed authenticator's user", got)
		}
	} else {
		e.logLacking(t, "the two-factor filter", reflect.TypeFor[store.TOTP]())
	}
	if ps, ok := as[store.Passkeys](e); ok {
		must(t, "CreatePasskey", ps.CreatePasskey(ctx, newPasskey(withKey.ID, rpMain, "k1"), 10))
		rows, _, err := s.ListUsers(ctx, store.UserQuery{Passkeys: true})
		must(t, "ListUsers", err)
		if len(rows) != 1 || rows[0].ID != withKey.ID || !rows[0].Passkeys {
			t.Errorf("passkeys: got %d rows, want the passkey's user marked", len(rows))
		}
	} else {
		e.logLacking(t, "the passkeys filter", reflect.TypeFor[store.Passkeys]())
	}
	if os, ok := as[orgStore](e); ok {
		o := newOrg(t, os, "acme", plain.ID)
		other := newOrg(t, os, "other", withKey.ID)
		addMember(t, os, o.ID, pending.ID, store.RoleMember, time.Minute)
		got := listAll(t, s, store.UserQuery{OrgID: o.ID}, 1)
		if !slices.Equal(got, []string{"pending@example.com", "plain@example.com"}) {
			t.Errorf("org acme: got %q, want its two members", got)
		}
		got = listAll(t, s, store.UserQuery{OrgID: other.ID, EmailPrefix: "plain"}, 10)
		if len(got) != 0 {
			t.Errorf("org other, prefix plain: got %q, want none", got)
		}
	} else {
		e.logLacking(t, "the organization filter", reflect.TypeFor[store.Orgs]())
	}
}

func testListUsersRefused(t *testing.T, s directoryStore) {
	newUser(t, s, "user@example.com")
	for _, after := range []string{"x", "u", "u!!", "not a cursor", "%00"} {
		if _, _, err := s.ListUsers(t.Context(), store.UserQuery{After: after}); err == nil {
			t.Errorf("ListUsers(After %q): got nil error, want a refusal", after)
		}
	}
	if _, _, err := s.ListUsers(t.Context(), store.UserQuery{State: "sleeping"}); err == nil {
		t.Error("ListUsers(State sleeping): got nil error")
	}
}

func appendEvents(t *testing.T, s store.AuditLog, evs ...*store.AuditEvent) {
	t.Helper()
	for _, e := range evs {
		must(t, "AppendAudit", s.AppendAudit(t.Context(), e))
	}
}

func testSearchAuditFilters(t *testing.T, s explorerStore) {
	ev := func(i int, action, actor, subject, outcome, ip, org string) *store.AuditEvent {
		return &store.AuditEvent{At: at(time.Duration(i) * time.Minute), Action: action, ActorID: actor, SubjectID: subject,
			Outcome: outcome, IP: ip, OrgID: org, UserAgent: "test"}
	}
	appendEvents(t, s,
		ev(1, "auth.login.success", "u1", "u1", "success", "192.0.2.1", ""),
		ev(2, "auth.login.failure", "", "u1", "failure", "192.0.2.2", ""),
		ev(3, "admin.user.lock", "a1", "u1", "success", "192.0.2.9", ""),
		ev(4, "org.member.remove", "u2", "u1", "success", "192.0.2.1", "o1"),
		ev(5, "auth.login.success", "u2", "u2", "success", "192.0.2.3", "o1"),
	)
	minute := func(n int) time.Time { return at(time.Duration(n) * time.Minute) }
	for _, c := range []struct {
		name string
		q    store.AuditSearch
		want []time.Time
	}{
		{"all", store.AuditSearch{}, []time.Time{minute(5), minute(4), minute(3), minute(2), minute(1)}},
		{"actor", store.AuditSearch{ActorID: "u2"}, []time.Time{minute(5), minute(4)}},
		{"subject", store.AuditSearch{SubjectID: "u1"}, []time.Time{minute(4), minute(3), minute(2), minute(1)}},
		{"user", store.AuditSearch{UserID: "u2"}, []time.Time{minute(5), minute(4)}},
		{"action", store.AuditSearch{Action: "auth.login.success"}, []time.Time{minute(5), minute(1)}},
		{"outcome", store.AuditSearch{Outcome: "failure"}, []time.Time{minute(2)}},
		{"ip", store.AuditSearch{IP: "192.0.2.1"}, []time.Time{minute(4), minute(1)}},
		{"org", store.AuditSearch{OrgID: "o1"}, []time.Time{minute(5), minute(4)}},
		{"range", store.AuditSearch{Since: minute(2), Until: minute(4)}, []time.Time{minute(3), minute(2)}},
		{"combined", store.AuditSearch{SubjectID: "u1", Outcome: "success", IP: "192.0.2.9"}, []time.Time{minute(3)}},
		{"none", store.AuditSearch{ActorID: "nobody"}, nil},
	} {
		evs, next, err := s.SearchAudit(t.Context(), c.q)
		must(t, "SearchAudit "+c.name, err)
		var got []time.Time
		for _, e := range evs {
			got = append(got, e.At)
		}
		if next != "" || !slices.EqualFunc(got, c.want, time.Time.Equal) {
			t.Errorf("SearchAudit %s: got %v (next %q), want %v", c.name, got, next, c.want)
		}
	}
}

func testSearchAuditPages(t *testing.T, s explorerStore) {
	for i := range 7 {
		appendEvents(t, s, &store.AuditEvent{At: at(time.Duration(i%3) * time.Second), Action: "auth.logout", ActorID: "u1", SubjectID: "u1", Outcome: "success"})
	}
	seen := map[string]bool{}
	q := store.AuditSearch{UserID: "u1", Limit: 2}
	var last time.Time
	for pages := 0; pages < 10; pages++ {
		evs, next, err := s.SearchAudit(t.Context(), q)
		must(t, "SearchAudit", err)
		for _, e := range evs {
			if seen[e.ID] {
				t.Fatalf("event %s on two pages", e.ID)
			}
			if !last.IsZero() && e.At.After(last) {
				t.Errorf("event at %v after one at %v: not newest first", e.At, last)
			}
			seen[e.ID], last = true, e.At
		}
		if next == "" {
			break
		}
		q.After = next
	}
	if len(seen) != 7 {
		t.Errorf("pages: got %d events, want 7", len(seen))
	}
	if _, _, err := s.SearchAudit(t.Context(), store.AuditSearch{After: "not a cursor"}); err == nil {
		t.Error("SearchAudit(After not a cursor): got nil error")
	}
}

func testAuditEventByID(t *testing.T, s explorerStore) {
	e := &store.AuditEvent{At: t0, Action: "auth.logout", ActorID: "u1", SubjectID: "u1", Outcome: "success", Metadata: map[string]string{"k": "v"}}
	appendEvents(t, s, e)
	got, err := s.AuditEventByID(t.Context(), e.ID)
	must(t, "AuditEventByID", err)
	if got.ID != e.ID || got.Action != e.Action || got.Metadata["k"] != "v" || got.Seq != 0 || got.Hash != nil {
		t.Errorf("AuditEventByID: got %+v", *got)
	}
	sameTime(t, "At", got.At, t0)
	if _, err := s.AuditEventByID(t.Context(), "no-such-event"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AuditEventByID(unknown): got %v, want ErrNotFound", err)
	}
}

func testHoldAdmin(t *testing.T, s adminStore, e env) {
	ctx := t.Context()
	u := newUser(t, s, "user@example.com")
	if _, err := s.HoldAdmin(ctx, "no-such-user"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("HoldAdmin(unknown user): got %v, want ErrNotFound", err)
	}
	tx, ok := as[store.Transactor](e)
	if !ok {
		e.logLacking(t, "HoldAdmin in a transaction", reflect.TypeFor[store.Transactor]())
		return
	}
	const wait = 200 * time.Millisecond
	// A transaction that found the user not an administrator keeps that
	// answer: a grant waits until it ends.
	granted := make(chan error, 1)
	err := tx.InTx(ctx, func(ctx context.Context) error {
		admin, err := s.HoldAdmin(ctx, u.ID)
		if err != nil || admin {
			return fmt.Errorf("HoldAdmin: got %v, %v; want false", admin, err)
		}
		go func() { granted <- s.GrantAdmin(t.Context(), u.ID, "", at(0)) }()
		select {
		case err := <-granted:
			return fmt.Errorf("GrantAdmin returned (%v) while a transaction held the answer", err)
		case <-time.After(wait):
		}
		return s.SetDisabled(ctx, u.ID, at(0), at(0))
	})
	must(t, "the holding transaction", err)
	must(t, "GrantAdmin after the transaction", <-granted)
	// A grant in an open transaction: HoldAdmin waits for its end, and
	// then sees it.
	v := newUser(t, s, "other@example.com")
	held := make(chan bool, 1)
	err = tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.GrantAdmin(ctx, v.ID, "", at(0)); err != nil {
			return err
		}
		go func() {
			var admin bool
			_ = tx.InTx(t.Context(), func(ctx context.Context) error {
				var err error
				admin, err = s.HoldAdmin(ctx, v.ID)
				return err
			})
			held <- admin
		}()
		select {
		case <-held:
			return errors.New("HoldAdmin returned while a grant was not committed")
		case <-time.After(wait):
		}
		return nil
	})
	must(t, "the granting transaction", err)
	if !<-held {
		t.Error("HoldAdmin after the grant committed: got false, want true")
	}
}

// testRevokeLastAdmin: the only administrator's role cannot be revoked
// (ErrLastAdmin, nothing changes), and of two administrators revoking
// each other at once exactly one wins. Repeated, so the two overlap.
func testRevokeLastAdmin(t *testing.T, s adminStore) {
	ctx := t.Context()
	for i := range 10 {
		a := newUser(t, s, fmt.Sprintf("a%d@example.com", i))
		b := newUser(t, s, fmt.Sprintf("b%d@example.com", i))
		if i == 0 {
			must(t, "GrantAdmin(a)", s.GrantAdmin(ctx, a.ID, "", t0))
			wantErr(t, "RevokeAdmin(the only one)", s.RevokeAdmin(ctx, a.ID), store.ErrLastAdmin)
			if !isAdmin(t, s, a.ID) {
				t.Fatal("the refused revocation removed the role")
			}
			must(t, "GrantAdmin(b)", s.GrantAdmin(ctx, b.ID, "", t0))
		} else {
			must(t, "GrantAdmin(a)", s.GrantAdmin(ctx, a.ID, "", t0))
			must(t, "GrantAdmin(b)", s.GrantAdmin(ctx, b.ID, "", t0))
		}
		// Leave exactly a and b as administrators.
		list, err := s.ListAdmins(ctx)
		must(t, "ListAdmins", err)
		for _, adm := range list {
			if adm.UserID != a.ID && adm.UserID != b.ID {
				must(t, "RevokeAdmin(an earlier pair's)", s.RevokeAdmin(ctx, adm.UserID))
			}
		}
		errs := make(chan error, 2)
		go func() { errs <- s.RevokeAdmin(ctx, a.ID) }()
		go func() { errs <- s.RevokeAdmin(ctx, b.ID) }()
		var ok, last int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLastAdmin):
				last++
			default:
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if ok != 1 || last != 1 {
			t.Fatalf("round %d: %d revoked and %d refused, want 1 and 1", i, ok, last)
		}
	}
}
