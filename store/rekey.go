package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
)

// This file holds the step of the address key migration that is not SQL:
// reading the stored keys, planning the moves with [PlanEmailRekey],
// applying them and recording [EmailKeyVersion]. It is for store adapters,
// which supply their dialect through [EmailKeyReader] and
// [EmailKeyRekeyer]; applications call the adapters' methods instead.

// EmailKeyTable is a table that stores addresses beside their keys, as the
// adapters of this module name it: Name is the table and ID the column
// that identifies its rows. Both are SQL identifiers that an adapter may
// write into a statement as they are: the only values are the ones this
// package passes, never input.
type EmailKeyTable struct {
	Name string
	ID   string
}

// emailKeyTables returns the tables that store an address beside its key,
// users first, in the order a rekeying visits them.
func emailKeyTables() []EmailKeyTable {
	return []EmailKeyTable{
		{Name: "sigra_users", ID: "id"},
		{Name: "sigra_email_reservations", ID: "user_id"},
	}
}

// emailKeyVersionName is the name of the recorded key version in errors.
const emailKeyVersionName = "email_key_version"

// EmailKeyReader reads the stored addresses and keys of a table, for
// [RekeyEmails], [RekeyEmailsIfOld] and [ReadEmailKeyCollisions]. It is
// for store adapters: an adapter implements it over the transaction it
// runs them in, and its methods are called from that one goroutine. Errors
// are returned as they are; the caller wraps them.
type EmailKeyReader interface {
	// EmailKeysAfter returns at most limit rows of t whose ID sorts
	// after the ID after ("" for the first batch), in the order of ID.
	EmailKeysAfter(ctx context.Context, t EmailKeyTable, after string, limit int) ([]EmailKeyRow, error)
	// EmailKeysHeld returns the rows of t whose stored key is one of
	// keys, in any order. There are at most as many keys as the batch
	// size given to the caller.
	EmailKeysHeld(ctx context.Context, t EmailKeyTable, keys []string) ([]EmailKeyRow, error)
}

// EmailKeyRekeyer is an [EmailKeyReader] that can also rewrite the stored
// keys and the recorded key version, for [RekeyEmails] and
// [RekeyEmailsIfOld]. It is for store adapters, which implement it over a
// transaction that no other write comes into between the first read and
// the commit (a write lock held, or tables locked: see [EmailKeyLocker]).
type EmailKeyRekeyer interface {
	EmailKeyReader
	// SetEmailKeys sets the stored key of each row of t, found by its
	// ID, to its Key, in one statement: there are at most as many rows
	// as the batch size given to the caller.
	SetEmailKeys(ctx context.Context, t EmailKeyTable, rows []EmailKeyRow) error
	// EmailKeyVersion returns the recorded key version as stored, and
	// false if none is recorded.
	EmailKeyVersion(ctx context.Context) (string, bool, error)
	// SetEmailKeyVersion records v as the key version, replacing the
	// recorded one.
	SetEmailKeyVersion(ctx context.Context, v string) error
}

// EmailKeyLocker is implemented by an [EmailKeyRekeyer] whose transaction
// does not by itself keep out writes: LockEmailKeys locks the tables that
// store addresses against them until the transaction ends. A rekeying
// calls it once, after it has decided to rewrite keys and before it reads
// any. An error is returned as it is.
type EmailKeyLocker interface {
	LockEmailKeys(ctx context.Context) error
}

// RekeyEmails recomputes the key stored beside every address with the
// current [NormalizeEmail], as [PlanEmailRekey] decides, and records
// [EmailKeyVersion], all through s (one transaction of the adapter). It
// fails if the recorded version is newer than EmailKeyVersion. Rows are
// read, and updated, at most batch per statement; batch must be positive.
// It is for store adapters, which implement their RekeyEmails method with
// it.
func RekeyEmails(ctx context.Context, s EmailKeyRekeyer, batch int) error {
	v, err := recordedEmailKeyVersion(ctx, s)
	if err != nil {
		return err
	}
	if v > EmailKeyVersion {
		return fmt.Errorf("address keys are of version %d, newer than this release's %d", v, EmailKeyVersion)
	}
	return rekeyEmails(ctx, s, batch)
}

// RekeyEmailsIfOld is [RekeyEmails] when the recorded key version (0 if
// none is) is older than [EmailKeyVersion], and does nothing otherwise,
// not failing on a newer version. It is for store adapters, whose
// migrations run it once the table holding the version exists.
func RekeyEmailsIfOld(ctx context.Context, s EmailKeyRekeyer, batch int) error {
	v, err := recordedEmailKeyVersion(ctx, s)
	if err != nil || v >= EmailKeyVersion {
		return err
	}
	return rekeyEmails(ctx, s, batch)
}

// ReadEmailKeyCollisions reads every user row through r, at most batch
// per statement (batch must be positive), and returns the collisions that
// [PlanEmailRekey] reports for them: the users whose addresses the current
// [NormalizeEmail] folds onto one key. It is for store adapters, which
// implement their EmailKeyCollisions method with it.
func ReadEmailKeyCollisions(ctx context.Context, r EmailKeyReader, batch int) ([]EmailKeyCollision, error) {
	stale, holders, err := readEmailKeys(ctx, r, emailKeyTables()[0], batch)
	if err != nil {
		return nil, err
	}
	_, collisions := PlanEmailRekey(stale, holders)
	return collisions, nil
}

// recordedEmailKeyVersion returns the recorded key version, 0 if none is.
func recordedEmailKeyVersion(ctx context.Context, s EmailKeyRekeyer) (int, error) {
	text, ok, err := s.EmailKeyVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", emailKeyVersionName, err)
	}
	if !ok {
		return 0, nil
	}
	v, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("read %s: %q is not a version", emailKeyVersionName, text)
	}
	return v, nil
}

// rekeyEmails locks the tables if s needs it, moves the stale keys of each
// table to their current value as PlanEmailRekey decides, and records the
// current version.
func rekeyEmails(ctx context.Context, s EmailKeyRekeyer, batch int) error {
	checkBatch(batch)
	if l, ok := s.(EmailKeyLocker); ok {
		if err := l.LockEmailKeys(ctx); err != nil {
			return err
		}
	}
	for _, t := range emailKeyTables() {
		stale, holders, err := readEmailKeys(ctx, s, t, batch)
		if err != nil {
			return err
		}
		moves, _ := PlanEmailRekey(stale, holders)
		// A unique index may be checked row by row, and moves may form
		// chains (a row taking the key another leaves): every moving row
		// first takes a temporary key unique to it, then its new key.
		temp := make([]EmailKeyRow, len(moves))
		for i, m := range moves {
			temp[i] = EmailKeyRow{ID: m.ID, Key: rekeyTempKey(m.ID)}
		}
		for _, step := range [][]EmailKeyRow{temp, moves} {
			for chunk := range slices.Chunk(step, batch) {
				if err := s.SetEmailKeys(ctx, t, chunk); err != nil {
					return fmt.Errorf("rekey %s: %w", t.Name, err)
				}
			}
		}
	}
	if err := s.SetEmailKeyVersion(ctx, strconv.Itoa(EmailKeyVersion)); err != nil {
		return fmt.Errorf("record %s: %w", emailKeyVersionName, err)
	}
	return nil
}

// rekeyTempKey is the key that the row with ID id holds while a rekeying
// moves it. It starts with U+2126 OHM SIGN, which NFC and NFKC replace, so
// no key of any version contains it, and it differs for each ID.
func rekeyTempKey(id string) string {
	return "\u2126rekey " + id
}

// readEmailKeys reads the rows of t in batches, in the order of ID, and
// returns those whose stored key is not their current key (stale) and the
// rows that store one of those current keys (holders).
func readEmailKeys(ctx context.Context, r EmailKeyReader, t EmailKeyTable, batch int) (stale, holders []EmailKeyRow, err error) {
	checkBatch(batch)
	var wanted []string
	for after := ""; ; {
		rows, err := r.EmailKeysAfter(ctx, t, after, batch)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for _, row := range rows {
			if k := NormalizeEmail(row.Email); k != row.Key {
				stale = append(stale, row)
				wanted = append(wanted, k)
			}
		}
		if len(rows) < batch {
			break
		}
		after = rows[len(rows)-1].ID
	}
	for chunk := range slices.Chunk(wanted, batch) {
		rows, err := r.EmailKeysHeld(ctx, t, chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		holders = append(holders, rows...)
	}
	return stale, holders, nil
}

// checkBatch panics unless batch is positive: a batch size is a constant
// of an adapter, and a loop reading batches of no rows would not end.
func checkBatch(batch int) {
	if batch < 1 {
		panic(fmt.Sprintf("sigra/store: rekey batch size %d, want at least 1", batch))
	}
}
