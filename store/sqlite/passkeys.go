package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sigra-go/sigra/store"
)

var _ store.Passkeys = (*DB)(nil)

const passkeyCols = `id, user_id, rp_id, credential_id, public_key, attestation_type, attestation_format,
	aaguid, transports, attachment, sign_count, user_verified, backup_eligible, backup_state, name,
	created_at, last_used_at`

// passkeyDest returns the scan destinations of passkeyCols.
func passkeyDest(p *store.Passkey, count *int64) []any {
	return []any{&p.ID, &p.UserID, &p.RPID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AttestationFormat,
		&p.AAGUID, eventTypesDest{&p.Transports}, &p.Attachment, count, boolDest{&p.UserVerified},
		boolDest{&p.BackupEligible}, boolDest{&p.BackupState}, &p.Name, timeDest{&p.CreatedAt}, timeDest{&p.LastUsedAt}}
}

// PasskeyUserHandle implements [store.Passkeys]: an insert that keeps the
// existing handle, then a read, in one transaction on the writer; with
// fresh nil, the read alone, on the reader pool.
func (db *DB) PasskeyUserHandle(ctx context.Context, userID string, fresh []byte) ([]byte, error) {
	if fresh == nil {
		var handle []byte
		if err := db.r(ctx).QueryRowContext(ctx, `SELECT handle FROM sigra_passkey_users WHERE user_id = ?`, userID).Scan(&handle); err != nil {
			return nil, wrap("PasskeyUserHandle", err)
		}
		return handle, nil
	}
	if len(fresh) == 0 || len(fresh) > 64 {
		return nil, invalid("PasskeyUserHandle", "handle of %d bytes, want 1 to 64", len(fresh))
	}
	var handle []byte
	err := db.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO sigra_passkey_users (user_id, handle) VALUES (?, ?)
			ON CONFLICT (user_id) DO NOTHING`, userID, fresh); err != nil {
			return wrap("PasskeyUserHandle", err)
		}
		return wrap("PasskeyUserHandle", q.QueryRowContext(ctx,
			`SELECT handle FROM sigra_passkey_users WHERE user_id = ?`, userID).Scan(&handle))
	})
	if err != nil {
		return nil, err
	}
	return handle, nil
}

// UserIDByPasskeyHandle implements [store.Passkeys].
func (db *DB) UserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error) {
	var id string
	err := db.r(ctx).QueryRowContext(ctx, `SELECT user_id FROM sigra_passkey_users WHERE handle = ?`, blob(handle)).Scan(&id)
	if err != nil {
		return "", wrap("UserIDByPasskeyHandle", err)
	}
	return id, nil
}

// CreatePasskey implements [store.Passkeys]. The count of the user's
// passkeys and the insert run in one transaction on the writer, which
// every other write waits for, so the limit holds under concurrency.
func (db *DB) CreatePasskey(ctx context.Context, p *store.Passkey, limit int) error {
	transports, err := json.Marshal(nonNil(p.Transports))
	if err != nil {
		return fmt.Errorf("sigra/sqlite: CreatePasskey: %w", err)
	}
	id, created := p.ID, p.CreatedAt
	if id == "" {
		id = store.NewID()
	}
	if created.IsZero() {
		created = clock()
	}
	err = db.inTx(ctx, func(q querier) error {
		if limit > 0 {
			var n int
			if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sigra_passkeys WHERE user_id = ? AND rp_id = ?`,
				p.UserID, p.RPID).Scan(&n); err != nil {
				return wrap("CreatePasskey", err)
			}
			if n >= limit {
				return fmt.Errorf("sigra/sqlite: CreatePasskey: %w", store.ErrPasskeyLimit)
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sigra_passkeys (`+passkeyCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.UserID, p.RPID, blob(p.CredentialID), blob(p.PublicKey), p.AttestationType, p.AttestationFormat,
			blob(p.AAGUID), string(transports), p.Attachment, int64(p.SignCount), p.UserVerified,
			p.BackupEligible, p.BackupState, p.Name, ms(created), ms(p.LastUsedAt))
		return wrap("CreatePasskey", err)
	})
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt = id, created
	return nil
}

// nonNil returns s, or an empty slice for nil (stored as []).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PasskeysByUser implements [store.Passkeys].
func (db *DB) PasskeysByUser(ctx context.Context, userID, rpID string) ([]*store.Passkey, error) {
	rows, err := db.r(ctx).QueryContext(ctx, `SELECT `+passkeyCols+` FROM sigra_passkeys
		WHERE user_id = ? AND rp_id = ? ORDER BY created_at, id`, userID, rpID)
	if err != nil {
		return nil, wrap("PasskeysByUser", err)
	}
	defer rows.Close()
	var out []*store.Passkey
	for rows.Next() {
		p := new(store.Passkey)
		var count int64
		if err := rows.Scan(passkeyDest(p, &count)...); err != nil {
			return nil, wrap("PasskeysByUser", err)
		}
		p.SignCount = uint32(count)
		out = append(out, p)
	}
	return out, wrap("PasskeysByUser", rows.Err())
}

// PasskeyByCredentialID implements [store.Passkeys].
func (db *DB) PasskeyByCredentialID(ctx context.Context, rpID string, credentialID []byte) (*store.Passkey, error) {
	p := new(store.Passkey)
	var count int64
	err := db.r(ctx).QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM sigra_passkeys
		WHERE rp_id = ? AND credential_id = ?`, rpID, blob(credentialID)).Scan(passkeyDest(p, &count)...)
	if err != nil {
		return nil, wrap("PasskeyByCredentialID", err)
	}
	p.SignCount = uint32(count)
	return p, nil
}

// UsePasskey implements [store.Passkeys] in one statement.
func (db *DB) UsePasskey(ctx context.Context, userID, id string, use store.PasskeyUse) error {
	return op("UsePasskey").one(db.exec(ctx, `UPDATE sigra_passkeys
		SET sign_count = max(sign_count, ?1), backup_state = ?2, last_used_at = ?3
		WHERE id = ?4 AND user_id = ?5`, int64(use.SignCount), use.BackupState, ms(use.At), id, userID))
}

// RenamePasskey implements [store.Passkeys].
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return op("RenamePasskey").one(db.exec(ctx,
		`UPDATE sigra_passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID))
}

// DeletePasskey implements [store.Passkeys]. The guard's count and the
// deletion run in one transaction on the writer connection: SQLite's
// single writer stands for the lock on the user's row, so no other
// removal can change the count in between.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string, guard bool) error {
	return db.inTx(ctx, func(q querier) error {
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM sigra_passkeys WHERE id = ? AND user_id = ?`, id, userID).Scan(&one); err != nil {
			return wrap("DeletePasskey", err)
		}
		if guard {
			var n int
			if err := q.QueryRowContext(ctx, signInMethodsSQL, userID).Scan(&n); err != nil {
				return wrap("DeletePasskey", err)
			}
			if n < 2 { // this passkey is all the user has
				return fmt.Errorf("sigra/sqlite: DeletePasskey: %w", store.ErrLastSignInMethod)
			}
		}
		return op("DeletePasskey").one(q.ExecContext(ctx, `DELETE FROM sigra_passkeys WHERE id = ? AND user_id = ?`, id, userID))
	})
}
