package org

import (
	"net/http"

	"github.com/sigra-go/sigra/internal/kernel"
)

// forms returns the schemas of the POST routes, keyed as Mount registers
// them: the fields each handler reads (see kernel.Fields for how a JSON
// body and a form are read against them).
func forms() map[string]kernel.Fields {
	p := func(path string) string { return http.MethodPost + " " + path }
	return map[string]kernel.Fields{
		p(pathOrgs):             {"name": kernel.Text, "slug": kernel.Text},
		p(pathSwitch):           {"org": kernel.Text, "return_to": kernel.Text},
		p(pathOrgSettings):      {"name": kernel.Text, "slug": kernel.Text},
		p(pathOrgPolicy):        {"require_two_factor": kernel.Bool},
		p(pathMemberRole):       {"user_id": kernel.Text, "role": kernel.Text},
		p(pathMemberRemove):     {"user_id": kernel.Text},
		p(pathInvitations):      {"email": kernel.Text, "role": kernel.Text},
		p(pathInvitationRevoke): {"id": kernel.Text},
		p(pathInvitationResend): {"id": kernel.Text},
		p(pathLeave):            {},
		p(pathDelete):           {"confirm_slug": kernel.Text},
		p(pathDeleteCancel):     {},
		p(pathAccept):           {"token": kernel.Text, "next": kernel.Text},
	}
}
