package oauth

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the routes that take a body, keyed as
// Mount registers them (see kernel.Fields).
func forms() map[string]kernel.Fields {
	return map[string]kernel.Fields{
		http.MethodPost + " " + pathStart:     {"return_to": kernel.Text, "remember": kernel.Bool},
		http.MethodPost + " " + pathLinkStart: {},
		http.MethodPost + " " + pathSudoStart: {"return_to": kernel.Text},
		http.MethodPost + " " + pathLink:      {},
		http.MethodPost + " " + pathUnlink:    {"id": kernel.Text},
		// The form_post callback: what the provider posts.
		http.MethodPost + " " + pathCallback: {
			"code": kernel.Text, "state": kernel.Text, "error": kernel.Text, "error_description": kernel.Text,
			"user": kernel.Custom,
		},
	}
}
