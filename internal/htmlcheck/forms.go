package htmlcheck

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// FieldErrors checks that the field errors errs (field key → message) are
// tied to their controls in doc: fields maps each key a page may mark to
// the id of the control it marks. A control whose key has an error has
// aria-invalid="true" and an aria-describedby naming the element <id>-error,
// whose text is the message; a control without an error has no
// aria-invalid; and with no errors at all, nothing in doc is marked
// invalid.
func FieldErrors(doc *html.Node, fields, errs map[string]string) []Problem {
	var c checker
	ids := ByID(doc)
	for _, key := range sortedKeys(fields) {
		id := fields[key]
		in := ids[id]
		if in == nil {
			c.add("field-error", fmt.Sprintf("field %q: no element with id %q", key, id))
			continue
		}
		inv, _ := Attr(in, "aria-invalid")
		msg, set := errs[key]
		if !set {
			if inv != "" {
				c.add("field-error", fmt.Sprintf("field %q: aria-invalid=%q without an error", key, inv))
			}
			continue
		}
		if inv != "true" {
			c.add("field-error", fmt.Sprintf("field %q: aria-invalid=%q, want \"true\"", key, inv))
		}
		if desc := strings.Fields(AttrOr(in, "aria-describedby", "")); !slices.Contains(desc, id+"-error") {
			c.add("field-error", fmt.Sprintf("field %q: aria-describedby=%q lacks %q", key, desc, id+"-error"))
		}
		got := "<missing>"
		if e := ids[id+"-error"]; e != nil {
			got = Text(e)
		}
		if got != msg {
			c.add("field-error", fmt.Sprintf("field %q: error element %q has text %q, want %q", key, id+"-error", got, msg))
		}
	}
	if len(errs) == 0 {
		for _, e := range Elements(doc) {
			if _, ok := Attr(e, "aria-invalid"); ok {
				c.add("field-error", fmt.Sprintf("<%s name=%q> is marked invalid without errors", e.Data, AttrOr(e, "name", "")))
			}
		}
	}
	return c.problems
}

// Autocomplete checks that every control named by a key of want exists in
// doc and has the autocomplete value want gives.
func Autocomplete(doc *html.Node, want map[string]string) []Problem {
	var c checker
	byName := ControlsByName(doc)
	for _, name := range sortedKeys(want) {
		ins := byName[name]
		if len(ins) == 0 {
			c.add("autocomplete", fmt.Sprintf("no control named %q", name))
		}
		for _, in := range ins {
			if got := AttrOr(in, "autocomplete", ""); got != want[name] {
				c.add("autocomplete", fmt.Sprintf("control %q: autocomplete=%q, want %q", name, got, want[name]))
			}
		}
	}
	return c.problems
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Notices are the messages a page announces.
type Notices struct {
	// Flash is a success message, announced politely (role=status).
	Flash string
	// Error is a form-level error, announced at once (role=alert).
	Error string
	// FieldErrors are the errors of the fields; when Error is empty they
	// are announced at once too (role=alert), so that a failed submission
	// is not silent.
	FieldErrors map[string]string
	// Banner is a notice about the account (role=note).
	Banner string
}

// Announced checks that doc announces each message of n in an element with
// the role the message needs.
func Announced(doc *html.Node, n Notices) []Problem {
	var c checker
	in := func(role, s string) bool {
		return slices.ContainsFunc(Roles(doc, role), func(v string) bool { return strings.Contains(v, s) })
	}
	if n.Flash != "" && !in("status", n.Flash) {
		c.add("notice", fmt.Sprintf("flash %q is not in a role=status element", n.Flash))
	}
	if n.Error != "" && !in("alert", n.Error) {
		c.add("notice", fmt.Sprintf("error %q is not in a role=alert element", n.Error))
	}
	if n.Error == "" {
		for _, key := range sortedKeys(n.FieldErrors) {
			if msg := n.FieldErrors[key]; !in("alert", msg) {
				c.add("notice", fmt.Sprintf("field error %q is not announced in a role=alert summary", msg))
			}
		}
	}
	if n.Banner != "" && !in("note", n.Banner) {
		c.add("notice", fmt.Sprintf("banner %q is not in a role=note element", n.Banner))
	}
	return c.problems
}

// ReturnTo checks that every form of doc, except those posting to one of
// skip (signing out goes nowhere after), posts returnTo once as the hidden
// field return_to.
func ReturnTo(doc *html.Node, returnTo string, skip ...string) []Problem {
	var c checker
	for _, f := range ByTag(doc, "form") {
		action := AttrOr(f, "action", "")
		if slices.Contains(skip, action) {
			continue
		}
		if got := HiddenValues(f, "return_to"); !slices.Equal(got, []string{returnTo}) {
			c.add("return-to", fmt.Sprintf("form %q: return_to %q, want [%q]", action, got, returnTo))
		}
	}
	return c.problems
}
