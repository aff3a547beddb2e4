package account

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sigra-go/sigra"
)

// FuzzSessionInfoJSON: the answers of GET /session write themselves
// exactly as encoding/json writes them from their tags (the documented
// shape): anonymous and signed in, with and without an impersonation,
// methods empty, nil or several, for any strings and times; and where
// encoding/json fails (a year past 9999), so does AppendJSON.
func FuzzSessionInfoJSON(f *testing.F) {
	f.Add("authenticated", "01900000-0000-7000-8000-000000000001", "user@example.com", "password", "admin-id", int64(1773500966), int64(535897000), 2, true)
	f.Add("pending_mfa", "", `a"<b>&\u2028`, "\xff", "", int64(0), int64(0), 0, false)
	f.Add("anonymous", "id", "e", "", "", int64(253402300800), int64(0), 1, true) // year 10000
	f.Fuzz(func(t *testing.T, state, id, email, method, impersonator string, sec, nsec int64, aal int, confirmed bool) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", int(sec%50400)))
		infos := []any{&anonymousInfo{State: sigra.State(state)}}
		for _, methods := range [][]sigra.Method{{}, nil, {sigra.Method(method)}, {sigra.Method(method), "totp", sigra.Method(email)}} {
			info := &signedInInfo{
				State: sigra.State(state), SignedIn: true,
				User: userBody{ID: id, Email: email, EmailConfirmed: confirmed, CreatedAt: at.Add(-time.Hour)},
				AAL:  aal, Methods: methods, AuthTime: at, SudoTime: time.Time{},
			}
			if impersonator != "" {
				info.Impersonation = &impersonationInfo{ImpersonatorID: impersonator, EndsAt: at.Add(time.Minute)}
			}
			infos = append(infos, info)
		}
		for _, v := range infos {
			want, wantErr := json.Marshal(v)
			got, err := v.(interface{ AppendJSON([]byte) ([]byte, error) }).AppendJSON([]byte("x"))
			if wantErr != nil || err != nil {
				if (wantErr != nil) != (err != nil) {
					t.Fatalf("%T: got error %v, encoding/json's %v", v, err, wantErr)
				}
				continue
			}
			if string(got) != "x"+string(want) {
				t.Fatalf("%T:\n got %s\nwant %s", v, got[1:], want)
			}
		}
	})
}
