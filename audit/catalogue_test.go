package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantActions is the catalogue as specified, written out independently of
// actions.go.
var wantActions = []string{
	"auth.register", "auth.confirm", "auth.login.success", "auth.login.failure", "auth.logout",
	"security.lockout", "security.lockout.mfa", "security.new_device.alert", "security.new_device.not_me",
	"security.password_breached", "security.breach_check_failed",
	"auth.password_reset.request", "auth.password_reset.complete",
	"auth.magic_link.request", "auth.magic_link.login", "account.email_change.request",
	"account.email_change.complete", "account.email_change.cancel", "account.password_change", "auth.sudo",
	"session.revoke", "session.revoke_others", "session.revoke_all",
	"account.disable", "account.enable", "security.unlock", "account.delete.schedule",
	"account.delete.cancel", "account.delete.complete", "mfa.totp.enable", "mfa.totp.disable",
	"mfa.challenge.success", "mfa.challenge.failure", "mfa.recovery_code.use", "mfa.recovery_codes.regenerate",
	"mfa.trusted_browser.add", "mfa.trusted_browser.revoke",
}

func TestActions(t *testing.T) {
	t.Parallel()
	got := Actions()
	if !sameSet(got, wantActions) {
		t.Errorf("Actions():\ngot  %q\nwant %q (any order)", got, wantActions)
	}
	seen := map[string]bool{}
	for _, a := range got {
		if seen[a] {
			t.Errorf("Actions(): %q listed twice", a)
		}
		seen[a] = true
		if err := checkAction(a); err != nil {
			t.Errorf("Actions(): %v", err)
		}
		if !inCatalogue(a) {
			t.Errorf("inCatalogue(%q): got false, want true", a)
		}
	}
	got[0] = "mutated.value"
	if Actions()[0] == "mutated.value" {
		t.Error("Actions(): the returned slice aliases the catalogue")
	}
}

// TestActionConstants checks that every Action constant declared in the
// package is in Actions() and the other way round, and that each has a doc
// comment starting with its name.
func TestActionConstants(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "actions.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Action") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: not a string literal", name.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				values = append(values, v)
				if vs.Doc == nil || !strings.HasPrefix(vs.Doc.Text(), name.Name) {
					t.Errorf("%s: doc comment must start with its name", name.Name)
				}
			}
		}
	}
	if !sameSet(values, Actions()) {
		t.Errorf("Action constants:\ngot  %q\nwant Actions() %q", values, Actions())
	}
}

// catalogueRow is one line of the table in the package documentation.
var catalogueRow = regexp.MustCompile(`^\t([a-z][a-z0-9_.]+)  +(.+?)  +(\S+)  +(\S+)  +(.+)$`)

// TestDocCatalogue checks that the table in doc.go lists exactly the
// catalogue, in the order of Actions(), that every metadata key it names is
// accepted, and that the documented secret words are the checked ones.
func TestDocCatalogue(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("doc.go: no package comment")
	}
	text := f.Doc.Text()
	start := strings.Index(text, "# Catalogue\n")
	if start < 0 {
		t.Fatal("doc.go: no # Catalogue section")
	}
	section := text[start:]
	if end := strings.Index(section[1:], "\n# "); end >= 0 {
		section = section[:end+1]
	}

	var actions []string
	for line := range strings.Lines(section) {
		m := catalogueRow.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil || m[1] == "action" {
			continue
		}
		actions = append(actions, m[1])
		for _, who := range []string{m[3], m[4]} {
			for part := range strings.SplitSeq(who, "/") {
				if part != "user" && part != "admin" && part != "-" {
					t.Errorf("doc row %s: actor/subject %q: want user, admin or - joined by /", m[1], who)
				}
			}
		}
		if m[5] == "-" {
			continue
		}
		for key := range strings.SplitSeq(m[5], ", ") {
			if err := checkKey(key); err != nil {
				t.Errorf("doc row %s: metadata key %q is refused: %v", m[1], key, err)
			}
		}
	}
	if !slices.Equal(actions, Actions()) {
		t.Errorf("doc.go catalogue table:\ngot  %q\nwant %q (same order)", actions, Actions())
	}

	const intro = "it contains any of these words:\n\n"
	i := strings.Index(text, intro)
	if i < 0 {
		t.Fatal("doc.go: the list of secret words is missing")
	}
	block := text[i+len(intro):]
	block = block[:strings.Index(block, "\n\n")]
	if got := strings.Fields(block); !slices.Equal(got, secretWords[:]) {
		t.Errorf("doc.go secret words:\ngot  %q\nwant %q", got, secretWords)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
