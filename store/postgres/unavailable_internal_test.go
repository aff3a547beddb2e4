package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/store"
)

// TestUnavailable checks which driver errors mean that PostgreSQL could
// not be reached or did not answer in time, and that wrap marks exactly
// those with store.ErrUnavailable, keeping the driver's error.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "m"}) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"admin_shutdown (terminated backend)", pg("57P01"), true},
		{"crash_shutdown", pg("57P02"), true},
		{"cannot_connect_now (starting up)", pg("57P03"), true},
		{"query_canceled (statement_timeout)", pg("57014"), true},
		{"connection_failure", pg("08006"), true},
		{"too_many_connections", pg("53300"), true},
		{"disk_full", pg("53100"), true},
		{"lock_not_available (lock_timeout)", pg("55P03"), true},
		{"io_error", pg("58030"), true},
		{"unique_violation", pg("23505"), false},
		{"undefined_table", pg("42P01"), false},
		{"serialization_failure", pg("40001"), false},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{"caller cancelled", fmt.Errorf("acquire: %w", context.Canceled), false},
		{"network", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"end of stream", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{"no rows", pgx.ErrNoRows, false},
		{"anything else", errors.New("disk on fire"), false},
	}
	for _, tt := range tests {
		if got := unavailable(tt.err); got != tt.want {
			t.Errorf("%s: unavailable(%v) got %v, want %v", tt.name, tt.err, got, tt.want)
		}
		err := wrap("op", tt.err)
		if errors.Is(err, store.ErrUnavailable) != tt.want || errors.Is(err, sigra.ErrBusy) != tt.want {
			t.Errorf("%s: wrap got %v, want ErrUnavailable (and sigra.ErrBusy) %v", tt.name, err, tt.want)
		}
		if tt.want && !errors.Is(err, tt.err) {
			t.Errorf("%s: wrap got %v, want the driver's error kept", tt.name, err)
		}
	}
}
