package sigra_test

import (
	"context"
	"testing"

	"github.com/sigra-go/sigra"
)

// TestWithAuthClient: one context value answers both the Auth and the
// Client, and the parent's values still pass through.
func TestWithAuthClient(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "parent")
	a := &sigra.Auth{State: sigra.StateAuthenticated, User: &sigra.User{ID: "u1"}}
	c := &sigra.Client{IP: "192.0.2.1", UserAgent: "Browser/1.0"}
	ctx := sigra.WithAuthClient(parent, a, c)
	if got := sigra.AuthFrom(ctx); got != a {
		t.Errorf("AuthFrom: got %+v, want the Auth given", got)
	}
	if got := sigra.ClientFrom(ctx); got != c {
		t.Errorf("ClientFrom: got %+v, want the Client given", got)
	}
	if got := ctx.Value(key{}); got != "parent" {
		t.Errorf("the parent's value: got %v", got)
	}
	c.Impersonator = "admin-1" // filled before the next handler runs
	if got := sigra.ClientFrom(ctx).Impersonator; got != "admin-1" {
		t.Errorf("Impersonator: got %q, want the caller's change", got)
	}
	if got := sigra.ClientFrom(context.Background()); got != nil {
		t.Errorf("ClientFrom without one: got %+v, want nil", got)
	}
	if got := sigra.ClientFrom(sigra.WithAuth(context.Background(), a)); got != nil {
		t.Errorf("ClientFrom with WithAuth only: got %+v, want nil", got)
	}
	if got := sigra.AuthFrom(sigra.WithAuthClient(context.Background(), nil, c)); got == nil || got.State != sigra.StateAnonymous {
		t.Errorf("AuthFrom with a nil Auth: got %+v, want anonymous", got)
	}
}

// answering is a context that carries its Auth and Client itself.
type answering struct {
	context.Context
	auth   *sigra.Auth
	client *sigra.Client
}

func (c *answering) Value(key any) any {
	if v, ok := sigra.AuthClientValue(key, c.auth, c.client); ok {
		return v
	}
	return c.Context.Value(key)
}

// TestAuthClientValue: a context answering with AuthClientValue is read by
// AuthFrom, UserFrom and ClientFrom as WithAuthClient's is, other keys
// are left to it, and a nil Auth reads as anonymous.
func TestAuthClientValue(t *testing.T) {
	type key struct{}
	a := &sigra.Auth{State: sigra.StateAuthenticated, User: &sigra.User{ID: "u1"}}
	c := &sigra.Client{IP: "192.0.2.1"}
	ctx := &answering{Context: context.WithValue(context.Background(), key{}, "parent"), auth: a, client: c}
	if got := sigra.AuthFrom(ctx); got != a {
		t.Errorf("AuthFrom: got %+v, want the Auth carried", got)
	}
	if got := sigra.UserFrom(ctx); got == nil || got.ID != "u1" {
		t.Errorf("UserFrom: got %+v, want u1", got)
	}
	if got := sigra.ClientFrom(ctx); got != c {
		t.Errorf("ClientFrom: got %+v, want the Client carried", got)
	}
	if got := ctx.Value(key{}); got != "parent" {
		t.Errorf("the parent's value: got %v", got)
	}
	if v, ok := sigra.AuthClientValue(key{}, a, c); ok || v != nil {
		t.Errorf("AuthClientValue(another key): got %v %v, want nil false", v, ok)
	}
	if got := sigra.AuthFrom(&answering{Context: context.Background(), client: c}); got == nil || got.State != sigra.StateAnonymous {
		t.Errorf("AuthFrom with a nil Auth: got %+v, want anonymous", got)
	}
}
