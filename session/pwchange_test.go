package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sigra-go/sigra/session"
)

// Outside LoadAndSave there is no session to mark: the mark is refused
// with ErrNoSession, and nothing reads as marked.
func TestPasswordChangeOutsideSession(t *testing.T) {
	t.Parallel()
	st, _ := openSQLite(t)
	a := newApp(t, st, options{})
	ctx := context.Background()
	if err := a.m.RequirePasswordChange(ctx, a.user.ID); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("RequirePasswordChange outside a request: got %v, want ErrNoSession", err)
	}
	if a.m.PasswordChangeRequired(ctx) {
		t.Fatal("PasswordChangeRequired outside a request: got true")
	}
	a.m.ClearPasswordChange(ctx) // does nothing, and does not panic
}
