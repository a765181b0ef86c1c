package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The corpus under testdata/cases holds evaluation cases as data. Each file is
//
//	{"policies": {"name": <policy document>, ...}, "cases": [<case>, ...]}
//
// A case evaluates one policy ("policy": a name or an inline document; or
// "condition": a Condition element, wrapped into an identity policy that
// allows s3:GetObject on "*") and expects "want": "+"-joined flags among
// allow, deny, account, role, or "none"; "matched" optionally lists the
// statements that applied.
//
// A case with "set" evaluates a Set with Decide and expects "allowed" and
// "reason".
//
// Requests: "principal" is an ARN, "anonymous", or an object {"arn", "role",
// "account", "service", "federated"}; "action" defaults to s3:GetObject,
// "resource" to arn:aws:s3:::bucket/key; "context" maps keys to a string or a
// list of strings (an empty list sets the key with no values).

type corpusFile struct {
	Policies map[string]json.RawMessage `json:"policies"`
	Cases    []corpusCase               `json:"cases"`
}

type corpusCase struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Policy    json.RawMessage `json:"policy"`
	Condition json.RawMessage `json:"condition"`
	Set       *corpusSet      `json:"set"`
	Principal json.RawMessage `json:"principal"`
	Action    string          `json:"action"`
	Resource  string          `json:"resource"`
	Context   map[string]any  `json:"context"`
	Want      string          `json:"want"`
	Matched   []int           `json:"matched"`
	Allowed   *bool           `json:"allowed"`
	Reason    string          `json:"reason"`
}

type corpusSet struct {
	SCPs              [][]json.RawMessage `json:"scps"`
	Resource          json.RawMessage     `json:"resource"`
	ResourceKind      string              `json:"resourceKind"`
	Identity          []json.RawMessage   `json:"identity"`
	Boundary          json.RawMessage     `json:"boundary"`
	Session           []json.RawMessage   `json:"session"`
	ResourceAccountID string              `json:"resourceAccount"`
	Delegation        bool                `json:"delegation"`
}

func loadCorpus(t *testing.T) map[string]corpusFile {
	t.Helper()
	paths, err := filepath.Glob("testdata/cases/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	files := make(map[string]corpusFile)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f corpusFile
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		files[filepath.Base(path)] = f
	}
	return files
}

func TestCorpus(t *testing.T) {
	files := loadCorpus(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	total := 0
	for _, fname := range names {
		f := files[fname]
		seen := map[string]bool{}
		for _, c := range f.Cases {
			if seen[c.Name] {
				t.Errorf("%s: duplicate case name %q", fname, c.Name)
			}
			seen[c.Name] = true
			total++
			t.Run(strings.TrimSuffix(fname, ".json")+"/"+c.Name, func(t *testing.T) {
				req := c.request(t)
				if c.Set != nil {
					runSetCase(t, &f, &c, req)
					return
				}
				runPolicyCase(t, &f, &c, req)
			})
		}
	}
	if total < 300 {
		t.Errorf("corpus has %d cases, want at least 300", total)
	}
}

func runPolicyCase(t *testing.T, f *corpusFile, c *corpusCase, req *Request) {
	doc := c.Policy
	if c.Condition != nil {
		doc = json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":` + string(c.Condition) + `}}`)
	}
	p := f.policy(t, doc, c.Kind)
	got := p.Evaluate(req)
	if want := normalizeFlags(c.Want); flags(got) != want {
		t.Errorf("Evaluate = %s (%+v), want %s", flags(got), got, want)
		_, traces := p.Explain(req)
		for _, tr := range traces {
			t.Logf("  %+v", tr)
		}
	}
	if c.Matched != nil {
		var idx []int
		for _, m := range got.Matched {
			idx = append(idx, m.Index)
		}
		if diff := cmp.Diff(c.Matched, idx, cmpEmptyInts); diff != "" {
			t.Errorf("Matched (-want +got):\n%s", diff)
		}
	}
	// Explain must agree with Evaluate.
	ed, traces := p.Explain(req)
	if diff := cmp.Diff(got, ed); diff != "" {
		t.Errorf("Explain disagrees with Evaluate (-Evaluate +Explain):\n%s", diff)
	}
	if len(traces) != p.Len() {
		t.Errorf("Explain returned %d traces for %d statements", len(traces), p.Len())
	}
}

var cmpEmptyInts = cmp.Comparer(func(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})

func runSetCase(t *testing.T, f *corpusFile, c *corpusCase, req *Request) {
	cs := c.Set
	set := &Set{ResourceAccountID: cs.ResourceAccountID, RequireResourceDelegation: cs.Delegation}
	for _, level := range cs.SCPs {
		var ps []*Policy
		for _, d := range level {
			ps = append(ps, f.policy(t, d, "SCP"))
		}
		set.SCPs = append(set.SCPs, ps)
	}
	if cs.Resource != nil {
		kind := cs.ResourceKind
		if kind == "" {
			kind = "KeyPolicy"
		}
		set.Resource = f.policy(t, cs.Resource, kind)
	}
	for _, d := range cs.Identity {
		set.Identity = append(set.Identity, f.policy(t, d, "Identity"))
	}
	if cs.Boundary != nil {
		set.Boundary = f.policy(t, cs.Boundary, "Identity")
	}
	for _, d := range cs.Session {
		set.Session = append(set.Session, f.policy(t, d, "Identity"))
	}
	got := set.Decide(req)
	if c.Allowed == nil {
		t.Fatal("set case without \"allowed\"")
	}
	if got.Allowed != *c.Allowed || got.Reason != c.Reason {
		t.Errorf("Decide = {Allowed: %t, Reason: %q}, want {Allowed: %t, Reason: %q}; deciding %+v",
			got.Allowed, got.Reason, *c.Allowed, c.Reason, got.Deciding)
	}
	if got.Allowed && len(got.Deciding) == 0 && !strings.HasSuffix(req.Principal.ARN, ":root") {
		t.Errorf("Decide allowed with no deciding statement")
	}
	if got.ExplicitDeny != strings.HasPrefix(got.Reason, "with an explicit deny") {
		t.Errorf("ExplicitDeny = %t with reason %q", got.ExplicitDeny, got.Reason)
	}
}

// policy parses a policy given by name or inline; kind "" means KeyPolicy when
// a statement names a principal and Identity otherwise.
func (f *corpusFile) policy(t *testing.T, raw json.RawMessage, kind string) *Policy {
	t.Helper()
	doc := string(raw)
	var name string
	if json.Unmarshal(raw, &name) == nil {
		d, ok := f.Policies[name]
		if !ok {
			t.Fatalf("unknown policy %q", name)
		}
		doc = string(d)
	}
	if kind == "" {
		kind = "Identity"
		if strings.Contains(doc, `"Principal"`) || strings.Contains(doc, `"NotPrincipal"`) {
			kind = "KeyPolicy"
		}
	}
	k := map[string]Kind{"KeyPolicy": KeyPolicy, "Identity": Identity, "SCP": SCP, "Trust": Trust}[kind]
	p, err := Parse(doc, k)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", doc, kind, err)
	}
	return p
}

func (c *corpusCase) request(t *testing.T) *Request {
	t.Helper()
	r := &Request{Action: c.Action, Resource: c.Resource, Context: NewContext()}
	if r.Action == "" {
		r.Action = "s3:GetObject"
	}
	if r.Resource == "" {
		r.Resource = "arn:aws:s3:::bucket/key"
	}
	var arn string
	switch {
	case c.Principal == nil:
		r.Principal.ARN = "arn:aws:iam::111122223333:user/alice"
	case json.Unmarshal(c.Principal, &arn) == nil:
		if arn == "anonymous" {
			r.Principal.Anonymous = true
		} else {
			r.Principal.ARN = arn
		}
	default:
		var p struct {
			ARN, Role, Account, Service, Federated string
		}
		if err := json.Unmarshal(c.Principal, &p); err != nil {
			t.Fatalf("principal: %v", err)
		}
		r.Principal = Principal{ARN: p.ARN, RoleARN: p.Role, AccountID: p.Account, Service: p.Service, Federated: p.Federated}
	}
	keys := make([]string, 0, len(c.Context))
	for k := range c.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := c.Context[k].(type) {
		case string:
			r.Context.Set(k, v)
		case []any:
			vals := make([]string, len(v))
			for i, e := range v {
				vals[i] = fmt.Sprint(e)
			}
			r.Context.Set(k, vals...)
		default:
			t.Fatalf("context %s: unsupported value %v", k, v)
		}
	}
	return r
}

func normalizeFlags(s string) string {
	f := strings.Split(s, "+")
	sort.Strings(f)
	return strings.Join(f, "+")
}

// flags renders a Decision as the corpus's "want" string.
func flags(d Decision) string {
	var f []string
	if d.Allow {
		f = append(f, "allow")
	}
	if d.Deny {
		f = append(f, "deny")
	}
	if d.AccountAllow {
		f = append(f, "account")
	}
	if d.RoleAllow {
		f = append(f, "role")
	}
	if len(f) == 0 {
		return "none"
	}
	sort.Strings(f)
	return strings.Join(f, "+")
}
