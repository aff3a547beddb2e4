package account

import (
	"fmt"
	"net/http"

	"github.com/sigra-go/sigra"
	"github.com/sigra-go/sigra/internal/kernel"
	"github.com/sigra-go/sigra/middleware"
)

// forms are the schemas of the POST routes, keyed as Mount registers
// them: the fields each handler reads (see kernel.Fields for how a JSON
// body and a form are read against them). Registration also takes the
// application's own fields when a registration hook is set (see
// registerFields).
func forms(cfg Config) map[string]kernel.Fields {
	post := func(path string) string { return http.MethodPost + " " + path }
	return map[string]kernel.Fields{
		post(pathRegister):      registerFields(cfg),
		post(pathConfirm):       {"token": kernel.Text, "code": kernel.Text, "email": kernel.Text},
		post(pathConfirmResend): {"email": kernel.Text},
		post(pathLogin): {
			"email": kernel.Text, "password": kernel.Secret, "remember": kernel.Bool, "return_to": kernel.Text,
		},
		post(pathLogout):         {},
		post(pathForgot):         {"email": kernel.Text},
		post(pathReset):          {"token": kernel.Text, "password": kernel.Secret},
		post(pathMagic):          {"email": kernel.Text},
		post(pathMagicVerify):    {"token": kernel.Text, "return_to": kernel.Text},
		post(pathSudo):           {"password": kernel.Secret, "code": kernel.Text, "return_to": kernel.Text},
		post(pathEmail):          {"email": kernel.Text},
		post(pathEmailConfirm):   {"token": kernel.Text},
		post(pathEmailCancel):    {},
		post(pathPassword):       {"current_password": kernel.Secret, "password": kernel.Secret},
		post(pathRenew):          {"current_password": kernel.Secret, "password": kernel.Secret, "return_to": kernel.Text},
		post(pathSessionRevoke):  {"id": kernel.Text},
		post(pathSessionsOthers): {},
		post(pathDelete):         {"confirm_email": kernel.Text},
		post(pathNotMe):          {"token": kernel.Text},
	}
}

// registerFields is the schema of a registration: the address, the
// password and the application's own fields (Hooks.Fields), which the
// registration hooks receive. A JSON body with any other field is
// refused.
func registerFields(cfg Config) kernel.Fields {
	f := kernel.Fields{"email": kernel.Text, "password": kernel.Secret}
	for _, name := range cfg.Hooks.Fields {
		f[name] = kernel.Custom
	}
	return f
}

// checkHookFields refuses names in Hooks.Fields that the registration
// reads itself, that are not field names, or that repeat.
func checkHookFields(names []string) error {
	seen := map[string]bool{}
	for _, name := range names {
		switch {
		case name == "email" || name == "password" || name == "return_to" || name == middleware.CSRFFieldName || name == kernel.OtherFields:
			return fmt.Errorf("%w: account: Config.Hooks.Fields: %q is a field of the registration itself", sigra.ErrConfig, name)
		case !validFieldName(name):
			return fmt.Errorf("%w: account: Config.Hooks.Fields: %q is not a field name (letters, digits, '_' and '-', at most 64 bytes)", sigra.ErrConfig, name)
		case seen[name]:
			return fmt.Errorf("%w: account: Config.Hooks.Fields: %q is named twice", sigra.ErrConfig, name)
		}
		seen[name] = true
	}
	return nil
}

// validFieldName reports whether name is a plain field name: ASCII
// letters, digits, '_' and '-', 1 to 64 bytes.
func validFieldName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
