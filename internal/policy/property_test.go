package policy

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
)

// Random policies and requests over a small vocabulary, so that statements
// often apply, check invariants of the evaluation logic.

var (
	propActions   = []string{"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "s3:GetObject"}
	propPatterns  = []string{"kms:*", "kms:Encrypt", "kms:Decrypt", "kms:De*", "*", "s3:*", "kms:?ncrypt"}
	propResources = []string{"*", "arn:aws:kms:us-east-1:111122223333:key/k1", "arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-east-1:111122223333:key/k2"}
	propPrincipal = []any{"*", map[string]any{"AWS": "111122223333"}, map[string]any{"AWS": "arn:aws:iam::111122223333:user/alice"},
		map[string]any{"AWS": "arn:aws:iam::111122223333:role/R"}, map[string]any{"AWS": "444455556666"}}
	propConds = []map[string]any{
		{"StringEquals": map[string]any{"aws:PrincipalTag/team": "blue"}},
		{"StringNotEquals": map[string]any{"aws:PrincipalTag/team": "red"}},
		{"Bool": map[string]any{"aws:SecureTransport": "true"}},
		{"ForAnyValue:StringLike": map[string]any{"kms:EncryptionContextKeys": "app*"}},
		{"NumericLessThan": map[string]any{"custom:n": "5"}},
	}
	propCallers = []Principal{
		{ARN: "arn:aws:iam::111122223333:user/alice"},
		{ARN: "arn:aws:iam::111122223333:root"},
		{ARN: "arn:aws:sts::111122223333:assumed-role/R/s", RoleARN: "arn:aws:iam::111122223333:role/R"},
		{ARN: "arn:aws:iam::444455556666:user/carol"},
	}
)

func randStatement(rng *rand.Rand, effect string, principal bool) map[string]any {
	s := map[string]any{"Effect": effect}
	if rng.Intn(4) == 0 {
		s["NotAction"] = propPatterns[rng.Intn(len(propPatterns))]
	} else {
		s["Action"] = []string{propPatterns[rng.Intn(len(propPatterns))], propPatterns[rng.Intn(len(propPatterns))]}
	}
	s["Resource"] = propResources[rng.Intn(len(propResources))]
	if principal {
		s["Principal"] = propPrincipal[rng.Intn(len(propPrincipal))]
	}
	if rng.Intn(2) == 0 {
		s["Condition"] = propConds[rng.Intn(len(propConds))]
	}
	return s
}

func randDoc(rng *rand.Rand, n int, principal bool) []map[string]any {
	stmts := make([]map[string]any, n)
	for i := range stmts {
		effect := "Allow"
		if rng.Intn(4) == 0 {
			effect = "Deny"
		}
		stmts[i] = randStatement(rng, effect, principal)
	}
	return stmts
}

func mustParse(t *testing.T, stmts []map[string]any, kind Kind) *Policy {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(string(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func randRequest(rng *rand.Rand) *Request {
	ctx := NewContext()
	if rng.Intn(2) == 0 {
		ctx.Set("aws:PrincipalTag/team", []string{"blue", "red"}[rng.Intn(2)])
	}
	ctx.SetBool("aws:SecureTransport", rng.Intn(2) == 0)
	if rng.Intn(2) == 0 {
		ctx.Set("kms:EncryptionContextKeys", "app", "other")
	}
	ctx.SetNumber("custom:n", int64(rng.Intn(10)))
	return &Request{
		Principal: propCallers[rng.Intn(len(propCallers))],
		Action:    propActions[rng.Intn(len(propActions))],
		Resource:  propResources[1+rng.Intn(len(propResources)-1)],
		Context:   ctx,
	}
}

type propSet struct {
	resource, identity []map[string]any
	scp                []map[string]any
}

func (ps propSet) build(t *testing.T, rng *rand.Rand) *Set {
	s := &Set{ResourceAccountID: "111122223333", RequireResourceDelegation: rng.Intn(2) == 0}
	s.Resource = mustParse(t, ps.resource, KeyPolicy)
	s.Identity = []*Policy{mustParse(t, ps.identity, Identity)}
	if ps.scp != nil {
		s.SCPs = [][]*Policy{{mustParse(t, ps.scp, SCP)}}
	}
	return s
}

func randSet(rng *rand.Rand) propSet {
	ps := propSet{resource: randDoc(rng, 1+rng.Intn(4), true), identity: randDoc(rng, 1+rng.Intn(3), false)}
	if rng.Intn(3) == 0 {
		ps.scp = append(randDoc(rng, rng.Intn(2), false), map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"})
	}
	return ps
}

const propRounds = 400

// An explicit deny that applies always wins, wherever it is added.
func TestPropertyDenyWins(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < propRounds; i++ {
		ps := randSet(rng)
		r := randRequest(rng)
		deny := map[string]any{"Effect": "Deny", "Action": "*", "Resource": "*"}
		var where string
		switch rng.Intn(3) {
		case 0:
			ps.resource = append(ps.resource, map[string]any{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})
			where = "resource"
		case 1:
			ps.identity = append(ps.identity, deny)
			where = "identity"
		default:
			ps.scp = append(ps.scp, deny, map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"})
			where = "scp"
		}
		got := ps.build(t, rng).Decide(r)
		if got.Allowed || !got.ExplicitDeny {
			t.Fatalf("round %d: deny-all in %s: Decide = %+v, want an explicit deny", i, where, got)
		}
	}
}

// Adding an Allow statement never turns an allowed request into a denied one.
func TestPropertyAllowMonotonic(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < propRounds; i++ {
		ps := randSet(rng)
		r := randRequest(rng)
		seed := rng.Int63()
		before := ps.build(t, rand.New(rand.NewSource(seed))).Decide(r)
		if rng.Intn(2) == 0 {
			ps.resource = append(ps.resource, randStatement(rng, "Allow", true))
		} else {
			ps.identity = append(ps.identity, randStatement(rng, "Allow", false))
		}
		after := ps.build(t, rand.New(rand.NewSource(seed))).Decide(r)
		if before.Allowed && !after.Allowed {
			t.Fatalf("round %d: adding an Allow statement denied the request: before %+v, after %+v", i, before, after)
		}
	}
}

// The order of statements never changes a decision.
func TestPropertyOrderIrrelevant(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < propRounds; i++ {
		ps := randSet(rng)
		r := randRequest(rng)
		seed := rng.Int63()
		before := ps.build(t, rand.New(rand.NewSource(seed))).Decide(r)
		rng.Shuffle(len(ps.resource), func(a, b int) { ps.resource[a], ps.resource[b] = ps.resource[b], ps.resource[a] })
		rng.Shuffle(len(ps.identity), func(a, b int) { ps.identity[a], ps.identity[b] = ps.identity[b], ps.identity[a] })
		after := ps.build(t, rand.New(rand.NewSource(seed))).Decide(r)
		if before.Allowed != after.Allowed || before.Reason != after.Reason {
			t.Fatalf("round %d: shuffling statements changed the decision: %+v then %+v", i, before, after)
		}
		// And for a single policy, the flags do not change either.
		p1 := mustParse(t, ps.resource, KeyPolicy)
		rev := append([]map[string]any(nil), ps.resource...)
		for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
			rev[a], rev[b] = rev[b], rev[a]
		}
		p2 := mustParse(t, rev, KeyPolicy)
		if f1, f2 := flags(p1.Evaluate(r)), flags(p2.Evaluate(r)); f1 != f2 {
			t.Fatalf("round %d: reversed statements: %s then %s", i, f1, f2)
		}
	}
}

// Evaluate and Explain always agree, and Explain gives a reason for every
// statement.
func TestPropertyExplainAgrees(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < propRounds; i++ {
		p := mustParse(t, randDoc(rng, 1+rng.Intn(5), true), KeyPolicy)
		r := randRequest(rng)
		d := p.Evaluate(r)
		ed, traces := p.Explain(r)
		if fmt.Sprint(d) != fmt.Sprint(ed) {
			t.Fatalf("round %d: Evaluate %+v, Explain %+v", i, d, ed)
		}
		for _, tr := range traces {
			if tr.Reason == "" {
				t.Fatalf("round %d: statement %d has no reason", i, tr.Index)
			}
		}
	}
}
