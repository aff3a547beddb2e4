package admin_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigra-go/sigra/admin"
	"github.com/sigra-go/sigra/internal/apptest"
	"github.com/sigra-go/sigra/store"
)

// listEmails pages through the users list at path (a query string
// included) as JSON and returns the addresses.
func listEmails(t *testing.T, a *app, c *apptest.Client, query url.Values) []string {
	t.Helper()
	var out []string
	for pages := 0; pages < 100; pages++ {
		res := c.JSON("GET", a.Path("/admin/users")+"?"+query.Encode(), "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("list %s: got %d\n%s", query.Encode(), res.StatusCode, res.Body)
		}
		var body struct {
			Users []admin.UserItem `json:"users"`
			Next  string           `json:"next"`
		}
		if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
			t.Fatal(err)
		}
		for _, u := range body.Users {
			out = append(out, u.Email)
		}
		if body.Next == "" {
			return out
		}
		query.Set("after", body.Next)
	}
	t.Fatal("the pages never end")
	return nil
}

// TestUsersList: the list pages through every user once, in address
// order, with the search and each filter, as JSON and as a page.
func TestUsersList(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		adm, root := a.admin(t, "root@example.com")
		var all []string
		for i := range 120 {
			e := fmt.Sprintf("user%03d@example.com", i)
			u := &store.User{Email: e, CreatedAt: a.Clock.Now()}
			if i%10 != 0 {
				u.EmailConfirmedAt = a.Clock.Now()
			}
			if err := a.St.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			switch i {
			case 7:
				if err := a.St.SetDisabled(ctx, u.ID, a.Clock.Now(), a.Clock.Now()); err != nil {
					t.Fatal(err)
				}
			case 8:
				if _, err := a.St.RecordFailure(ctx, u.ID, store.LockPassword, 1, time.Hour, a.Clock.Now()); err != nil {
					t.Fatal(err)
				}
			case 9:
				if err := a.St.ScheduleDeletion(ctx, u.ID, a.Clock.Now().Add(time.Hour), a.Clock.Now()); err != nil {
					t.Fatal(err)
				}
			case 11:
				o := a.org(t, "acme", u)
				a.member(t, o, root, store.RoleMember)
			}
			all = append(all, e)
		}
		got := listEmails(t, a, adm, url.Values{})
		if len(got) != 121 || got[0] != "root@example.com" && got[120] != "user119@example.com" {
			t.Fatalf("all users: got %d", len(got))
		}
		seen := map[string]bool{}
		for i, e := range got {
			if seen[e] {
				t.Errorf("%s listed twice", e)
			}
			seen[e] = true
			if i > 0 && got[i-1] >= e {
				t.Errorf("not in address order: %s before %s", got[i-1], e)
			}
		}
		for _, c := range []struct {
			query url.Values
			want  []string
		}{
			{url.Values{"q": {"USER11"}}, all[110:120]},
			{url.Values{"q": {"user00"}, "state": {"unconfirmed"}}, []string{"user000@example.com"}},
			{url.Values{"state": {"disabled"}}, []string{"user007@example.com"}},
			{url.Values{"state": {"locked"}}, []string{"user008@example.com"}},
			{url.Values{"state": {"deletion_pending"}}, []string{"user009@example.com"}},
			{url.Values{"org": {"acme"}}, []string{"root@example.com", "user011@example.com"}},
			{url.Values{"two_factor": {"1"}}, nil},
		} {
			if got := listEmails(t, a, adm, c.query); strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("list %s: got %q, want %q", c.query.Encode(), got, c.want)
			}
		}
		// The filter form posts, and is sent to the list's address for it,
		// which holds the filter and never the form's CSRF token.
		res := adm.Post(a.Path("/admin/users"), url.Values{"q": {"user1"}, "state": {"locked"}, "two_factor": {""}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/auth/admin/users?q=user1&state=locked" {
			t.Errorf("filter form: got %d to %q", res.StatusCode, loc)
		}
		if res := adm.Post(a.Path("/admin/audit"), url.Values{"outcome": {"failure"}}); res.Header.Get("Location") != "/auth/admin/audit?outcome=failure" {
			t.Errorf("audit filter form: got %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		// The page links to the next page with the filter kept.
		page := adm.Get(a.Path("/admin/users?q=user"))
		if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "user049@example.com") || strings.Contains(page.Body, "user050@example.com") {
			t.Fatalf("first page: got %d", page.StatusCode)
		}
		if !regexp.MustCompile(`href="/auth/admin/users\?after=[^"&]+&amp;q=user"`).MatchString(page.Body) {
			t.Error("the page's next link lost the search")
		}
	})
}

// TestAuditExplorer: the explorer filters and pages, shows one event with
// its seal, and exports the filter as CSV (formula guard) and JSON Lines,
// the export audited.
func TestAuditExplorer(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, a *app) {
		ctx := context.Background()
		adm, root := a.admin(t, "root@example.com")
		_, u := a.signedIn(t, "user@example.com")
		for i := range 130 {
			e := &store.AuditEvent{At: a.Clock.Now().Add(time.Duration(i) * time.Second), Action: "demo.thing", ActorID: u.ID, SubjectID: u.ID,
				Outcome: "failure", IP: "192.0.2.7", UserAgent: "=HYPERLINK(\"http://evil.example\")"}
			if err := a.St.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		var first string
		count := 0
		q := "/admin/audit?" + url.Values{"subject": {"user@example.com"}, "outcome": {"failure"}, "ip": {"192.0.2.7"}}.Encode()
		for p := q; p != ""; {
			res := adm.JSON("GET", a.Path(p), "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got %d\n%s", p, res.StatusCode, res.Body)
			}
			var body struct {
				Events []admin.EventItem `json:"events"`
				Next   string            `json:"next"`
			}
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
				t.Fatal(err)
			}
			if first == "" && len(body.Events) > 0 {
				first = body.Events[0].ID
			}
			count += len(body.Events)
			p = ""
			if body.Next != "" {
				p = q + "&after=" + url.QueryEscape(body.Next)
			}
		}
		if count != 130 {
			t.Errorf("explorer pages: got %d events, want 130", count)
		}
		detail := adm.JSON("GET", a.Path("/admin/audit/"+first), "")
		if b := jsonBody(t, detail); detail.StatusCode != http.StatusOK || b["seq"] != float64(0) {
			t.Errorf("event detail: got %d %v", detail.StatusCode, b)
		}
		if page := adm.Get(a.Path("/admin/audit/" + first)); !strings.Contains(page.Body, "Not sealed yet") {
			t.Error("the event page does not show its seal's state")
		}
		// CSV: every row, each formula-looking cell quoted.
		res := adm.Get(a.Path("/admin/audit/export?format=csv&action=demo.thing"))
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV export: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 131 {
			t.Errorf("CSV export: got %d rows, want a header and 130", len(rows))
		}
		if rows[1][9] != `'=HYPERLINK("http://evil.example")` {
			t.Errorf("CSV export: the user agent cell is %q, want it guarded", rows[1][9])
		}
		res = adm.Get(a.Path("/admin/audit/export?format=jsonl&action=demo.thing"))
		lines := 0
		sc := bufio.NewScanner(strings.NewReader(res.Body))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("JSON Lines export: %v", err)
			}
			lines++
		}
		if lines != 130 {
			t.Errorf("JSON Lines export: got %d lines, want 130", lines)
		}
		evs, _, err := a.St.SearchAudit(ctx, store.AuditSearch{Action: admin.ActionAuditExport, ActorID: root.ID})
		if err != nil || len(evs) != 2 || evs[0].Metadata["filter"] != "action=demo.thing" {
			t.Errorf("export audit rows: got %d (%v)", len(evs), err)
		}
	})
}

// TestLongCursor: the cursor after a long address (its key encoded) is
// longer than any search, and is taken.
func TestLongCursor(t *testing.T) {
	t.Parallel()
	a := newApp(t, "sqlite")
	ctx := context.Background()
	adm, _ := a.admin(t, "root@example.com")
	long := strings.Repeat("l", 64) + "@" + strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + ".example.com"
	for _, e := range []string{long, "l" + long} {
		if err := a.St.CreateUser(ctx, &store.User{Email: e, CreatedAt: a.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	_, next, err := a.St.ListUsers(ctx, store.UserQuery{EmailPrefix: "l", Limit: 1})
	if err != nil || len(next) <= 254 {
		t.Fatalf("the cursor: %d bytes (%v), want more than 254", len(next), err)
	}
	res := adm.JSON("GET", a.Path("/admin/users?"+url.Values{"q": {"l"}, "after": {next}}.Encode()), "")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "lll") {
		t.Errorf("the page after a long cursor: got %d\n%s", res.StatusCode, res.Body)
	}
}
