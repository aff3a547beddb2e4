package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sigra-go/sigra/store"
)

// signInStore is what the SignIns part needs.
type signInStore interface {
	store.Users
	store.SignIns
}

func signInChecks() []check {
	return []check{
		checkOf("SeenDevice/FirstAndKnown", testSeenDeviceFirst),
		checkOf("SeenDevice/LastSeen", testSeenDeviceLastSeen),
		checkOf("SeenDevice/Forget", testSeenDeviceForget),
		checkOf("SeenDevice/PerUser", testSeenDevicePerUser),
		checkOf("SeenDevice/UnknownUser", testSeenDeviceUnknownUser),
		checkOf("SeenDevice/Times", testSeenDeviceTimes),
		checkOf("SeenDevice/Concurrent", testSeenDeviceConcurrent),
		checkOf("ForgetDevice", testForgetDevice),
		checkOf("DeleteUser", testSignInsDeleteUser),
		checkOf("AnonymizeUser", testSignInsAnonymizeUser),
		checkEnv("Transaction", testSignInsTransaction),
	}
}

// Fingerprints standing for three devices.
const (
	fpLaptop = "laptop-fingerprint"
	fpPhone  = "phone-fingerprint"
	fpCafe   = "cafe-fingerprint"
)

// seen calls SeenDevice, failing the test on an error, and checks its
// results against wantFirst and wantLast.
func seen(t *testing.T, s store.SignIns, userID, fp string, now, forgetBefore time.Time, wantFirst bool, wantLast time.Time) {
	t.Helper()
	first, last, err := s.SeenDevice(t.Context(), userID, fp, now, forgetBefore)
	what := fmt.Sprintf("SeenDevice(%s at %v)", fp, now.Sub(t0))
	must(t, what, err)
	if first != wantFirst {
		t.Errorf("%s: got first %v, want %v", what, first, wantFirst)
	}
	sameTime(t, what+" lastSeen", last, wantLast)
}

// The first sign-in of a user is reported as first; then a device is known
// from its first sign-in on, and other devices are new but not first.
func testSeenDeviceFirst(t *testing.T, s signInStore) {
	u := newUser(t, s, "devices@example.com")
	seen(t, s, u.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, u.ID, fpLaptop, at(time.Hour), time.Time{}, false, t0)
	seen(t, s, u.ID, fpPhone, at(2*time.Hour), time.Time{}, false, time.Time{})
	seen(t, s, u.ID, fpPhone, at(3*time.Hour), time.Time{}, false, at(2*time.Hour))
	seen(t, s, u.ID, fpLaptop, at(4*time.Hour), time.Time{}, false, at(time.Hour))
}

// The last-seen time moves to the later of the stored time and now: a
// sign-in stamped earlier (another instance's clock) does not move it back.
func testSeenDeviceLastSeen(t *testing.T, s signInStore) {
	u := newUser(t, s, "clock@example.com")
	seen(t, s, u.ID, fpLaptop, at(time.Hour), time.Time{}, true, time.Time{})
	seen(t, s, u.ID, fpLaptop, at(time.Minute), time.Time{}, false, at(time.Hour))
	seen(t, s, u.ID, fpLaptop, at(2*time.Hour), time.Time{}, false, at(time.Hour))
}

// The user's other devices last seen before forgetBefore are forgotten; the
// device signing in never is, however old, and its old time is returned.
func testSeenDeviceForget(t *testing.T, s signInStore) {
	u := newUser(t, s, "stale@example.com")
	const day = 24 * time.Hour
	seen(t, s, u.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, u.ID, fpPhone, at(10*day), time.Time{}, false, time.Time{})
	// At day 100 with a 90-day window the laptop (day 0) goes; the phone
	// (day 10) stays: at the boundary a device is kept.
	seen(t, s, u.ID, fpCafe, at(100*day), at(10*day), false, time.Time{})
	seen(t, s, u.ID, fpPhone, at(101*day), at(11*day), false, at(10*day))
	seen(t, s, u.ID, fpLaptop, at(102*day), at(12*day), false, time.Time{})
	// The device signing in is kept whatever its age, and reports it.
	seen(t, s, u.ID, fpLaptop, at(500*day), at(410*day), false, at(102*day))
	// Every other device was older than the window: only the laptop is
	// left, so the user is still not new.
	seen(t, s, u.ID, fpPhone, at(501*day), at(411*day), false, time.Time{})
	seen(t, s, u.ID, fpCafe, at(502*day), at(412*day), false, time.Time{})
}

// Devices are per user: one user's fingerprint says nothing of another's.
func testSeenDevicePerUser(t *testing.T, s signInStore) {
	a := newUser(t, s, "a@example.com")
	b := newUser(t, s, "b@example.com")
	seen(t, s, a.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, b.ID, fpLaptop, at(time.Minute), time.Time{}, true, time.Time{})
	seen(t, s, a.ID, fpLaptop, at(time.Hour), time.Time{}, false, t0)
	// b's sign-ins forget none of a's devices.
	seen(t, s, b.ID, fpPhone, at(1000*time.Hour), at(999*time.Hour), false, time.Time{})
	seen(t, s, a.ID, fpLaptop, at(1001*time.Hour), time.Time{}, false, at(time.Hour))
}

func testSeenDeviceUnknownUser(t *testing.T, s signInStore) {
	ctx := t.Context()
	const id = "01900000-0000-7000-8000-00000000d1ce"
	_, _, err := s.SeenDevice(ctx, id, fpLaptop, t0, time.Time{})
	wantErr(t, "SeenDevice(unknown user)", err, store.ErrNotFound)
	// Nothing was stored: a user created with that ID afterwards is new.
	u := &store.User{ID: id, Email: "late@example.com", CreatedAt: t0, UpdatedAt: t0}
	must(t, "CreateUser", s.CreateUser(ctx, u))
	seen(t, s, id, fpLaptop, at(time.Minute), time.Time{}, true, time.Time{})
}

// Times given in another zone come back as the same instant in UTC, at
// millisecond precision.
func testSeenDeviceTimes(t *testing.T, s signInStore) {
	u := newUser(t, s, "zoned@example.com")
	zone := time.FixedZone("UTC-03:30", -(3*3600 + 1800))
	local := at(time.Second).In(zone)
	seen(t, s, u.ID, fpLaptop, local, time.Time{}, true, time.Time{})
	seen(t, s, u.ID, fpLaptop, at(time.Hour), time.Time{}, false, at(time.Second))
}

// Concurrent sign-ins of a new user: of those from one device, exactly one
// finds it unseen and the others see its time; of those from distinct
// devices, exactly one is the user's first.
func testSeenDeviceConcurrent(t *testing.T, s signInStore) {
	ctx := t.Context()
	const n = 32
	type result struct {
		first bool
		last  time.Time
	}

	u := newUser(t, s, "same.device@example.com")
	results := make([]result, n)
	errs := race(n, func(i int) error {
		var err error
		results[i].first, results[i].last, err = s.SeenDevice(ctx, u.ID, fpLaptop, t0, time.Time{})
		return err
	})
	countOutcomes(t, "SeenDevice(one device)", errs, nil)
	firsts, unseen := 0, 0
	for i, r := range results {
		if r.first {
			firsts++
		}
		switch {
		case r.last.IsZero():
			unseen++
		case !r.last.Equal(t0):
			t.Errorf("SeenDevice(one device) %d: got lastSeen %v, want zero or %v", i, r.last, t0)
		}
	}
	if firsts != 1 || unseen != 1 {
		t.Errorf("%d concurrent sign-ins from one device: got %d first and %d unseen, want 1 and 1", n, firsts, unseen)
	}

	v := newUser(t, s, "many.devices@example.com")
	errs = race(n, func(i int) error {
		var err error
		results[i].first, results[i].last, err = s.SeenDevice(ctx, v.ID, fmt.Sprintf("device-%d", i), t0, time.Time{})
		return err
	})
	countOutcomes(t, "SeenDevice(distinct devices)", errs, nil)
	firsts = 0
	for i, r := range results {
		if r.first {
			firsts++
		}
		if !r.last.IsZero() {
			t.Errorf("SeenDevice(device-%d): got lastSeen %v, want zero (never seen)", i, r.last)
		}
	}
	if firsts != 1 {
		t.Errorf("%d concurrent first sign-ins from distinct devices: got %d first, want 1", n, firsts)
	}
}

// A forgotten device is unseen at its next sign-in, the user is not new
// again, and other users' and other devices' records stay.
func testForgetDevice(t *testing.T, s signInStore) {
	ctx := t.Context()
	u := newUser(t, s, "forget@example.com")
	other := newUser(t, s, "other@example.com")
	seen(t, s, u.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, u.ID, fpPhone, at(time.Minute), time.Time{}, false, time.Time{})
	seen(t, s, other.ID, fpPhone, at(time.Minute), time.Time{}, true, time.Time{})

	must(t, "ForgetDevice", s.ForgetDevice(ctx, u.ID, fpPhone))
	seen(t, s, u.ID, fpPhone, at(time.Hour), time.Time{}, false, time.Time{})
	seen(t, s, u.ID, fpLaptop, at(time.Hour), time.Time{}, false, t0)
	seen(t, s, other.ID, fpPhone, at(time.Hour), time.Time{}, false, at(time.Minute))

	// The user's only device forgotten: the user is still not new.
	must(t, "ForgetDevice(only device)", s.ForgetDevice(ctx, other.ID, fpPhone))
	seen(t, s, other.ID, fpPhone, at(2*time.Hour), time.Time{}, false, time.Time{})

	// Unknown devices and users are not an error.
	must(t, "ForgetDevice(unknown device)", s.ForgetDevice(ctx, u.ID, "never-seen"))
	must(t, "ForgetDevice(unknown user)", s.ForgetDevice(ctx, "01900000-0000-7000-8000-00000000beef", fpPhone))
}

// DeleteUser removes the user's devices: a user created again with the
// same ID is new.
func testSignInsDeleteUser(t *testing.T, s signInStore) {
	ctx := t.Context()
	u := newUser(t, s, "gone@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	seen(t, s, u.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, bystander.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	again := &store.User{ID: u.ID, Email: "gone@example.com", CreatedAt: t0, UpdatedAt: t0}
	must(t, "CreateUser(same ID)", s.CreateUser(ctx, again))
	seen(t, s, u.ID, fpLaptop, at(time.Hour), time.Time{}, true, time.Time{})
	seen(t, s, bystander.ID, fpLaptop, at(time.Hour), time.Time{}, false, t0)
}

// AnonymizeUser removes the user's devices with everything else that
// belongs to the user.
func testSignInsAnonymizeUser(t *testing.T, s signInStore) {
	ctx := t.Context()
	u := newUser(t, s, "anon@example.com")
	bystander := newUser(t, s, "bystander@example.com")
	seen(t, s, u.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	seen(t, s, bystander.ID, fpLaptop, t0, time.Time{}, true, time.Time{})
	must(t, "AnonymizeUser", s.AnonymizeUser(ctx, u.ID, at(time.Minute)))
	first, last, err := s.SeenDevice(ctx, u.ID, fpLaptop, at(time.Hour), time.Time{})
	must(t, "SeenDevice after AnonymizeUser", err)
	if !first || !last.IsZero() {
		t.Errorf("SeenDevice after AnonymizeUser: got (first %v, lastSeen %v), want (true, zero): the user's devices must be removed", first, last)
	}
	seen(t, s, bystander.ID, fpLaptop, at(time.Hour), time.Time{}, false, t0)
}

// Inside a transaction, SeenDevice joins it: a rollback leaves nothing, a
// commit keeps the sign-in.
func testSignInsTransaction(t *testing.T, s signInStore, e env) {
	tx, ok := as[store.Transactor](e)
	if !ok {
		t.Skipf("storetest: %s does not implement store.Transactor", typeName(e.typ))
	}
	ctx := t.Context()
	u := newUser(t, s, "tx@example.com")
	errRollback := errors.New("roll back")
	err := tx.InTx(ctx, func(ctx context.Context) error {
		first, _, err := s.SeenDevice(ctx, u.ID, fpLaptop, t0, time.Time{})
		if err != nil || !first {
			return fmt.Errorf("SeenDevice in the transaction: got (first %v, %v), want (true, nil)", first, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	seen(t, s, u.ID, fpPhone, at(time.Minute), time.Time{}, true, time.Time{})

	must(t, "InTx", tx.InTx(ctx, func(ctx context.Context) error {
		_, _, err := s.SeenDevice(ctx, u.ID, fpLaptop, at(time.Hour), time.Time{})
		if err != nil {
			return err
		}
		return s.ForgetDevice(ctx, u.ID, fpPhone)
	}))
	seen(t, s, u.ID, fpLaptop, at(2*time.Hour), time.Time{}, false, at(time.Hour))
	seen(t, s, u.ID, fpPhone, at(2*time.Hour), time.Time{}, false, time.Time{})
}
