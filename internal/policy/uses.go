package policy

// UsesContext reports whether evaluating the policy can read the request
// context: some statement has a condition, or a Resource with a policy
// variable. A caller may skip building a context for policies that do not.
func (p *Policy) UsesContext() bool {
	for i := range p.stmts {
		s := &p.stmts[i]
		if len(s.conds) > 0 {
			return true
		}
		for j := range s.resources {
			if s.resources[j].whole.hasVar {
				return true
			}
		}
	}
	return false
}
