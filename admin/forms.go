package admin

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the POST routes, keyed as Mount registers
// them: the fields each handler reads (see kernel.Fields for how a JSON
// body and a form are read against them).
func forms() map[string]kernel.Fields {
	p := func(path string) string { return http.MethodPost + " " + path }
	none := kernel.Fields{}
	search := kernel.Fields{"q": kernel.Text, "state": kernel.Text, "two_factor": kernel.Bool, "passkeys": kernel.Bool, "org": kernel.Text}
	return map[string]kernel.Fields{
		p(pathUsers):    search,
		p(pathOrgUsers): search,
		p(pathAudit): {"actor": kernel.Text, "subject": kernel.Text, "action": kernel.Text, "outcome": kernel.Text,
			"org": kernel.Text, "ip": kernel.Text, "since": kernel.Text, "until": kernel.Text},
		p(pathLock):           none,
		p(pathUnlock):         none,
		p(pathDisable):        none,
		p(pathEnable):         none,
		p(pathRevokeSession):  {"session_id": kernel.Text},
		p(pathRevokeAll):      none,
		p(pathPasswordReset):  none,
		p(pathConfirm):        none,
		p(pathTwoFactorReset): none,
		p(pathPasskeyRemove):  {"passkey_id": kernel.Text},
		p(pathIdentityUnlink): {"identity_id": kernel.Text},
		p(pathDeletionCancel): none,
		p(pathDeletionRun):    {"confirm_email": kernel.Text},
		p(pathGrant):          none,
		p(pathRevoke):         none,
		p(pathImpersonate):    {"reason": kernel.Text},
		p(pathStopImperson):   none,
		p(pathOrgRevokeAll):   none,
		p(pathOrgConfirm):     none,
	}
}
