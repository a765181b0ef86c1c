package iam

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// Document kinds of the IAM and STS entities. Persisted: never change them.
const (
	kindUser    = "iam/user"    // name: user name
	kindRole    = "iam/role"    // name: role name
	kindGroup   = "iam/group"   // name: group name
	kindPolicy  = "iam/policy"  // name: policy name (unique in an account, whatever its path)
	kindSession = "sts/session" // name: the session's access key id
)

// Stored enumerations. Persisted: never change them.
const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

// tag is one IAM tag. Tag keys are case-insensitive in IAM: two tags of an
// entity never have keys that differ only in case.
type tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// userDoc is a stored IAM user (kind "iam/user").
type userDoc struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Path     string            `json:"path"`
	ARN      string            `json:"arn"`
	Created  time.Time         `json:"created"`
	Tags     []tag             `json:"tags,omitempty"`
	Inline   map[string]string `json:"inline,omitempty"`   // policy name → document, as given
	Attached []string          `json:"attached,omitempty"` // managed policy ARNs, in attach order
	Groups   []string          `json:"groups,omitempty"`   // group names, in join order
	Boundary string            `json:"boundary,omitempty"` // managed policy ARN
}

// roleDoc is a stored IAM role (kind "iam/role").
type roleDoc struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	Path        string            `json:"path"`
	ARN         string            `json:"arn"`
	Created     time.Time         `json:"created"`
	Trust       string            `json:"trust"` // the trust policy, as given
	Description string            `json:"description,omitempty"`
	MaxSession  int               `json:"maxSession"` // seconds
	Tags        []tag             `json:"tags,omitempty"`
	Inline      map[string]string `json:"inline,omitempty"`
	Attached    []string          `json:"attached,omitempty"`
	Boundary    string            `json:"boundary,omitempty"`
}

// groupDoc is a stored IAM group (kind "iam/group").
type groupDoc struct {
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Path     string            `json:"path"`
	ARN      string            `json:"arn"`
	Created  time.Time         `json:"created"`
	Inline   map[string]string `json:"inline,omitempty"`
	Attached []string          `json:"attached,omitempty"`
	Users    []string          `json:"users,omitempty"` // user names, in join order
}

// policyVersion is one version of a managed policy.
type policyVersion struct {
	ID       string    `json:"id"` // "v1", "v2", ...
	Document string    `json:"doc"`
	Created  time.Time `json:"created"`
}

// policyDoc is a stored customer managed policy (kind "iam/policy").
type policyDoc struct {
	Name         string          `json:"name"`
	ID           string          `json:"id"`
	Path         string          `json:"path"`
	ARN          string          `json:"arn"`
	Description  string          `json:"description,omitempty"`
	Created      time.Time       `json:"created"`
	Updated      time.Time       `json:"updated"`
	Default      string          `json:"default"` // id of the default version
	Versions     []policyVersion `json:"versions"`
	NextVersion  int             `json:"next"`         // number of the next version id
	Attachments  int             `json:"attachments"`  // users, groups and roles it is attached to
	BoundaryUses int             `json:"boundaryUses"` // users and roles it is the permissions boundary of
	Tags         []tag           `json:"tags,omitempty"`
}

func (p *policyDoc) version(id string) *policyVersion {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			return &p.Versions[i]
		}
	}
	return nil
}

func (p *policyDoc) defaultDocument() string {
	if v := p.version(p.Default); v != nil {
		return v.Document
	}
	return ""
}

// sessionDoc is a stored assumed-role session (kind "sts/session", in the
// role's account, named by its access key id). Its secret access key is a
// store.Credential; its session token is kept wrapped under the root key.
type sessionDoc struct {
	RoleName    string    `json:"role"`
	RoleID      string    `json:"roleId"`
	RoleARN     string    `json:"roleArn"`
	SessionName string    `json:"session"`
	Issued      time.Time `json:"issued"`
	Expires     time.Time `json:"expires"`
	Token       []byte    `json:"token"`                // wrapped, AAD tokenAAD(access key id)
	Policy      string    `json:"policy,omitempty"`     // inline session policy
	PolicyARNs  []string  `json:"arns,omitempty"`       // managed session policies, as named
	PolicyDocs  []string  `json:"arnDocs,omitempty"`    // their default documents when the session began
	Tags        []tag     `json:"tags,omitempty"`       // session tags
	Transitive  []string  `json:"transitive,omitempty"` // keys of transitive session tags
	Chained     bool      `json:"chained,omitempty"`    // assumed by a role session
	SourceAcct  string    `json:"callerAcct"`           // account of the principal that assumed the role
	SourceARN   string    `json:"callerArn"`            // ARN of that principal
}

func tokenAAD(accessKeyID string) []byte {
	return []byte("custos/session-token/v1\x00" + accessKeyID)
}

// getDoc reads and decodes one document; found is false if there is none.
func getDoc[T any](tx store.Tx, kind, account, name string) (v *T, version int64, found bool, err error) {
	d, err := tx.GetDocument(kind, account, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	v = new(T)
	if err := json.Unmarshal(d.Body, v); err != nil {
		return nil, 0, false, fmt.Errorf("iam: decode %s %s/%s: %w", kind, account, name, err)
	}
	return v, d.Version, true, nil
}

// listDocs reads and decodes every document of a kind in an account,
// ordered by name.
func listDocs[T any](tx store.Tx, kind, account string) ([]*T, error) {
	ds, err := tx.ListDocuments(kind, account, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(ds))
	for _, d := range ds {
		v := new(T)
		if err := json.Unmarshal(d.Body, v); err != nil {
			return nil, fmt.Errorf("iam: decode %s %s/%s: %w", kind, account, d.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// putDoc inserts (version 0) or replaces (the version read) a document.
func putDoc(tx store.Tx, kind, account, name string, version int64, v any, now time.Time) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("iam: encode %s: %w", kind, err)
	}
	d := store.Document{Kind: kind, AccountID: account, Name: name, Body: body, Version: version, UpdatedAt: now}
	if version == 0 {
		return tx.InsertDocument(d)
	}
	_, err = tx.UpdateDocument(d)
	return err
}

// Unique id prefixes, as AWS spells them.
const (
	prefixUser    = "AIDA"
	prefixRole    = "AROA"
	prefixGroup   = "AGPA"
	prefixPolicy  = "ANPA"
	prefixSession = "ASIA" // temporary access key ids
)

// newID returns prefix followed by 17 random characters of AWS's
// alphabet (A-Z, 2-7): 21 characters, the shape of AWS unique ids.
func newID(rnd io.Reader, prefix string) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [11]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("iam: random: %w", err)
	}
	return prefix + base32.StdEncoding.EncodeToString(b[:])[:17], nil
}

// entityARN returns "arn:aws:iam::ACCOUNT:kind/path/name" (path begins and
// ends with "/").
func entityARN(account, kind, path, name string) string {
	return "arn:aws:iam::" + account + ":" + kind + path + name
}

// assumedRoleARN returns the ARN of an assumed-role session.
func assumedRoleARN(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

// parsedARN is an IAM or STS ARN taken apart.
type parsedARN struct {
	Service  string // "iam" or "sts"
	Account  string
	Resource string // "root", "user/path/name", ...
}

func parseARN(s string) (parsedARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[3] != "" {
		return parsedARN{}, false
	}
	return parsedARN{Service: parts[2], Account: parts[4], Resource: parts[5]}, true
}

// pathAndName splits "user/path/to/name" after its type into "/path/to/"
// and "name".
func pathAndName(typed string) (typ, path, name string) {
	typ, rest, ok := strings.Cut(typed, "/")
	if !ok {
		return typed, "", ""
	}
	i := strings.LastIndexByte(rest, '/')
	return typ, "/" + rest[:i+1], rest[i+1:]
}

// tagsFold returns the index of the tag whose key equals key ignoring
// case, or -1.
func tagIndex(tags []tag, key string) int {
	return slices.IndexFunc(tags, func(t tag) bool { return strings.EqualFold(t.Key, key) })
}

// setTags merges add into tags: a tag whose key matches (ignoring case)
// has its key and value replaced; others are appended.
func setTags(tags []tag, add []tag) []tag {
	for _, t := range add {
		if i := tagIndex(tags, t.Key); i >= 0 {
			tags[i] = t
		} else {
			tags = append(tags, t)
		}
	}
	return tags
}

// tagMap returns tags as a map, or nil when there are none.
func tagMap(tags []tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
