package mfa

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the POST routes, keyed as Mount registers
// them: the fields each handler reads (see kernel.Fields for how a JSON
// body and a form are read against them).
func forms() map[string]kernel.Fields {
	return map[string]kernel.Fields{
		http.MethodPost + " " + pathSetup:         {"enrollment": kernel.Text, "code": kernel.Text},
		http.MethodPost + " " + pathChallenge:     {"code": kernel.Text, "trust": kernel.Bool, "return_to": kernel.Text},
		http.MethodPost + " " + pathRecovery:      {"recovery_code": kernel.Text, "trust": kernel.Bool, "return_to": kernel.Text},
		http.MethodPost + " " + pathRegenerate:    {"code": kernel.Text},
		http.MethodPost + " " + pathDisable:       {"code": kernel.Text, "recovery_code": kernel.Text},
		http.MethodPost + " " + pathTrustedRevoke: {"id": kernel.Text},
		http.MethodPost + " " + pathTrustedAll:    {},
	}
}
