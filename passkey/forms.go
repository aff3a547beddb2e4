package passkey

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the POST routes, keyed as Mount registers
// them: the fields each handler reads (see kernel.Fields for how a JSON
// body and a form are read against them). A credential is the JSON object
// of a PublicKeyCredential (its toJSON form).
func forms() map[string]kernel.Fields {
	post := http.MethodPost + " "
	return map[string]kernel.Fields{
		post + pathRegisterOptions:  {"name": kernel.Text},
		post + pathRegister:         {"credential": kernel.Object},
		post + pathRename:           {"id": kernel.Text, "name": kernel.Text},
		post + pathDelete:           {"id": kernel.Text},
		post + pathSignInOptions:    {"email": kernel.Text},
		post + pathSignIn:           {"credential": kernel.Object, "remember": kernel.Bool, "return_to": kernel.Text},
		post + pathChallengeOptions: {},
		post + pathChallenge:        {"credential": kernel.Object, "return_to": kernel.Text},
		post + pathSudoOptions:      {},
		post + pathSudo:             {"credential": kernel.Object, "return_to": kernel.Text},
	}
}
