package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sigra-go/sigra/store"
)

var _ store.Passkeys = (*DB)(nil)

const passkeyCols = `id, user_id, rp_id, credential_id, public_key, attestation_type, attestation_format,
	aaguid, transports, attachment, sign_count, user_verified, backup_eligible, backup_state, name,
	created_at, last_used_at`

// passkeyDest returns the scan destinations of passkeyCols.
func passkeyDest(p *store.Passkey, count *int64) []any {
	return []any{&p.ID, &p.UserID, &p.RPID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AttestationFormat,
		&p.AAGUID, &p.Transports, &p.Attachment, count, &p.UserVerified, &p.BackupEligible, &p.BackupState, &p.Name,
		ts(&p.CreatedAt), ts(&p.LastUsedAt)}
}

// PasskeyUserHandle implements [store.Passkeys]: an insert that keeps an
// existing handle, then a read that (under READ COMMITTED, in a statement
// of its own) sees the handle a concurrent first call stored; with fresh
// nil, the read alone.
func (db *DB) PasskeyUserHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error) {
	const op = "passkey user handle"
	if fresh == nil {
		var handle []byte
		if err := db.q(ctx).QueryRow(ctx, `SELECT handle FROM sigra_passkey_users WHERE user_id = $1`, userID).Scan(&handle); err != nil {
			return nil, wrap(op, err)
		}
		return handle, nil
	}
	if len(fresh) == 0 || len(fresh) > 64 {
		return nil, invalid(op, "handle of %d bytes, want 1 to 64", len(fresh))
	}
	var handle []byte
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sigra_passkey_users (user_id, handle) VALUES ($1, $2)
			ON CONFLICT (user_id) DO NOTHING`, userID, fresh); err != nil {
			return wrap(op, err)
		}
		return wrap(op, tx.QueryRow(ctx, `SELECT handle FROM sigra_passkey_users WHERE user_id = $1`, userID).Scan(&handle))
	})
	if err != nil {
		return nil, err
	}
	return handle, nil
}

// UserIDByPasskeyHandle implements [store.Passkeys].
func (db *DB) UserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error) {
	var id string
	if err := db.q(ctx).QueryRow(ctx, `SELECT user_id FROM sigra_passkey_users WHERE handle = $1`, bytesArg(handle)).Scan(&id); err != nil {
		return "", wrap("user by passkey handle", err)
	}
	return id, nil
}

// CreatePasskey implements [store.Passkeys]. It locks the user's row, so
// that concurrent registrations of one user count in turn against the
// limit; the unique index on (rp_id, credential_id) refuses a credential
// ID registered before.
func (db *DB) CreatePasskey(ctx context.Context, p *store.Passkey, limit int) error {
	const op = "create passkey"
	id, created := p.ID, p.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = nowUTC()
	}
	transports := p.Transports
	if transports == nil {
		transports = []string{}
	}
	err := db.atomic(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, lockUserSQL, p.UserID).Scan(&one); err != nil {
			return wrap(op, err)
		}
		if limit > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM sigra_passkeys WHERE user_id = $1 AND rp_id = $2`,
				p.UserID, p.RPID).Scan(&n); err != nil {
				return wrap(op, err)
			}
			if n >= limit {
				return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrPasskeyLimit)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO sigra_passkeys (`+passkeyCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			id, p.UserID, p.RPID, bytesArg(p.CredentialID), bytesArg(p.PublicKey), p.AttestationType, p.AttestationFormat,
			bytesArg(p.AAGUID), transports, p.Attachment, int64(p.SignCount), p.UserVerified,
			p.BackupEligible, p.BackupState, p.Name, created, tsArg(p.LastUsedAt))
		return wrap(op, err)
	})
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt = id, created
	return nil
}

// PasskeysByUser implements [store.Passkeys].
func (db *DB) PasskeysByUser(ctx context.Context, userID, rpID string) ([]*store.Passkey, error) {
	const op = "passkeys by user"
	rows, err := db.q(ctx).Query(ctx, `SELECT `+passkeyCols+` FROM sigra_passkeys
		WHERE user_id = $1 AND rp_id = $2 ORDER BY created_at, id`, userID, rpID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []*store.Passkey
	for rows.Next() {
		p := new(store.Passkey)
		var count int64
		if err := rows.Scan(passkeyDest(p, &count)...); err != nil {
			return nil, wrap(op, err)
		}
		p.SignCount = uint32(count)
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// PasskeyByCredentialID implements [store.Passkeys].
func (db *DB) PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (*store.Passkey, error) {
	p := new(store.Passkey)
	var count int64
	err := db.q(ctx).QueryRow(ctx, `SELECT `+passkeyCols+` FROM sigra_passkeys
		WHERE rp_id = $1 AND credential_id = $2`, rpID, bytesArg(credentialID)).Scan(passkeyDest(p, &count)...)
	if err != nil {
		return nil, wrap("passkey by credential id", err)
	}
	p.SignCount = uint32(count)
	return p, nil
}

// UsePasskey implements [store.Passkeys] in one statement.
func (db *DB) UsePasskey(ctx context.Context, userID, id string, use store.PasskeyUse) error {
	return db.execOne(ctx, "use passkey", `UPDATE sigra_passkeys
		SET sign_count = greatest(sign_count, $1), backup_state = $2, last_used_at = $3
		WHERE id = $4 AND user_id = $5`, int64(use.SignCount), use.BackupState, tsArg(use.At), id, userID)
}

// RenamePasskey implements [store.Passkeys].
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return db.execOne(ctx, "rename passkey",
		`UPDATE sigra_passkeys SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
}

// DeletePasskey implements [store.Passkeys]. A guarded removal locks the
// user's row (lockUserSQL) before it counts the user's ways to sign in
// (signInMethodsSQL): of concurrent removals, each counts what the ones
// before it left, so two cannot both take what remains.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string, guard bool) error {
	const op = "delete passkey"
	return db.atomic(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, lockUserSQL, userID).Scan(&one); err != nil {
			return wrap(op, err)
		}
		// Not found wins over last method: a passkey that is not the
		// user's is not theirs to protect.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sigra_passkeys WHERE id = $1 AND user_id = $2)`,
			id, userID).Scan(&exists); err != nil {
			return wrap(op, err)
		}
		if !exists {
			return notFound(op)
		}
		if guard {
			var n int
			if err := tx.QueryRow(ctx, signInMethodsSQL, userID).Scan(&n); err != nil {
				return wrap(op, err)
			}
			if n < 2 { // this passkey is all the user has
				return fmt.Errorf("sigra/postgres: %s: %w", op, store.ErrLastSignInMethod)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM sigra_passkeys WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return wrap(op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op)
		}
		return nil
	})
}
