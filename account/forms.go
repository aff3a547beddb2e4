package account

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
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

// registerFields is the schema of a registration: the address and the
// password and, when Hooks.BeforeRegister or Hooks.AfterRegister is set,
// any other field as the application's own (kernel.Custom), since the
// hooks receive them. Without a registration hook nothing reads another
// field, so a JSON body with one is refused.
func registerFields(cfg Config) kernel.Fields {
	f := kernel.Fields{"email": kernel.Text, "password": kernel.Secret}
	if cfg.Hooks.BeforeRegister != nil || cfg.Hooks.AfterRegister != nil {
		f[kernel.OtherFields] = kernel.Custom
	}
	return f
}
