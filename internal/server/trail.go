package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custoskms/custos/internal/audit"
	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// signingKeyFile holds the audit trail's Ed25519 signing key (its seed),
// wrapped under the root key.
const signingKeyFile = "audit-signing.key"

var signingKeyAAD = []byte("custos/audit-signing/v1")

// auditSigningKey loads the trail's signing key, creating it on first start.
func auditSigningKey(dir string, root *keyring.Root) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, signingKeyFile)
	wrapped, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("server: audit signing key: %w", err)
		}
		defer clear(seed)
		if wrapped, err = root.Wrap(rand.Reader, seed, signingKeyAAD); err != nil {
			return nil, fmt.Errorf("server: audit signing key: %w", err)
		}
		if err := writeFileAtomic(path, wrapped); err != nil {
			return nil, fmt.Errorf("server: audit signing key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: audit signing key: %w", err)
	}
	seed, err := root.Unwrap(wrapped, signingKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("server: audit signing key %s does not unwrap under the root key: %w", path, err)
	}
	b := seed.Bytes()
	defer clear(b)
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("server: audit signing key %s has the wrong size", path)
	}
	return ed25519.NewKeyFromSeed(b), nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// eventSources names the CloudTrail event source of each API by its SigV4
// service name.
var eventSources = map[string]string{
	"kms":           "kms.amazonaws.com",
	"iam":           "iam.amazonaws.com",
	"sts":           "sts.amazonaws.com",
	"organizations": "organizations.amazonaws.com",
	"cloudtrail":    "cloudtrail.amazonaws.com",
}

// exchange is what the audit record of one request is built from.
type exchange struct {
	r         *http.Request
	requestID string
	service   string // SigV4 service of the API, "" when unknown
	op        string
	readOnly  bool
	caller    *caller.Caller // nil when authentication failed
	trail     *caller.Trail
	err       *awsproto.Error // nil on success
}

// record writes the audit record of a request and returns only once it is
// durable. An error means the request must fail. A client that hangs up
// does not cancel the record: what its request did is recorded all the same.
func (s *Server) record(ctx context.Context, x *exchange) error {
	ctx = context.WithoutCancel(ctx)
	kmsAPI := x.service == "kms"
	ev := &audit.Event{
		EventTime:       time.Now().UTC(),
		EventSource:     eventSources[x.service],
		EventName:       x.op,
		SourceIPAddress: remoteIP(x.r),
		UserAgent:       x.r.UserAgent(),
		RequestID:       x.requestID,
		ReadOnly:        x.readOnly,
		ManagementEvent: true,
	}
	if ev.EventSource == "" {
		ev.EventSource = eventSources["kms"]
	}
	if ev.EventName == "" {
		ev.EventName = "Unknown"
	}
	if c := x.caller; c != nil {
		ev.AWSRegion = c.Region
		ev.UserIdentity = identityOf(c)
		ev.RecipientAccountID = c.AccountID
	} else {
		// Recorded for the server's account (below), in the Region the
		// request was signed for, so that its root sees failed sign-ins.
		id, region := credentialOf(x.r.Header.Get("Authorization"))
		ev.UserIdentity = audit.UserIdentity{Type: "Unknown", AccessKeyID: id}
		ev.AWSRegion = region
	}
	if t := x.trail; t != nil {
		ev.RequestParameters = t.Params
		ev.ResponseElements = t.Response
		keys := t.Resources
		if kmsAPI && x.err == nil && x.op == "CreateKey" {
			if arn := createdKeyARN(t.Response); arn != "" {
				keys = []string{arn}
			}
		}
		for _, arn := range keys {
			account := accountOfARN(arn)
			ev.Resources = append(ev.Resources, audit.Resource{AccountID: account, Type: audit.ResourceTypeKey, ARN: arn})
			if ev.RecipientAccountID == "" || kmsAPI {
				ev.RecipientAccountID = account
			}
		}
		if kmsAPI {
			// Since December 2022 CloudTrail names the key a management
			// operation changed in responseElements.keyId, even when the
			// operation returns nothing.
			if x.err == nil && !ev.ReadOnly && ev.ResponseElements == nil && len(t.Resources) > 0 {
				ev.ResponseElements = map[string]any{"keyId": t.Resources[len(t.Resources)-1]}
			}
			// An alias operation also names the alias among the resources.
			if alias := aliasResource(x, t); alias != "" {
				ev.Resources = append(ev.Resources, audit.Resource{AccountID: accountOfARN(alias), Type: audit.ResourceTypeKey, ARN: alias})
			}
		}
		if t.Decision != "" {
			ev.Authorization = &audit.Authorization{Decision: t.Decision, Reason: t.Reason}
		}
		if len(t.EncryptionContext) > 0 {
			if ev.Findings = audit.InspectContext(t.EncryptionContext); len(ev.Findings) > 0 {
				if s.cfg.RejectSensitiveContext {
					// The request was refused for these values: keep them
					// out of the trail too.
					ev.RequestParameters = redactContext(t.Params, ev.Findings)
				} else {
					s.log.Warn("server: the encryption context looks like it holds sensitive data; it is recorded in plain text",
						"op", x.op, "key", ev.Findings[0].Key, "kind", ev.Findings[0].Kind, "requestId", x.requestID)
				}
			}
		}
	}
	if x.err != nil {
		ev.ErrorCode, ev.ErrorMessage = x.err.Code, x.err.Message
	}
	if ev.RecipientAccountID == "" {
		ev.RecipientAccountID = s.cfg.AccountID
	}
	return s.audit.Append(ctx, ev)
}

// createdKeyARN returns keyMetadata.arn of CreateKey's trail response, or "".
func createdKeyARN(resp any) string {
	m, _ := resp.(map[string]any)
	md, _ := m["keyMetadata"].(map[string]any)
	arn, _ := md["arn"].(string)
	return arn
}

// aliasResource returns the ARN of the alias a CreateAlias, UpdateAlias or
// DeleteAlias request named, once a key of the request was resolved (so the
// name was valid), or "".
func aliasResource(x *exchange, t *caller.Trail) string {
	switch x.op {
	case "CreateAlias", "UpdateAlias", "DeleteAlias":
	default:
		return ""
	}
	name, _ := t.Params["aliasName"].(string)
	if len(t.Resources) == 0 || !strings.HasPrefix(name, "alias/") {
		return ""
	}
	// An alias lives in its key's account and region.
	key := t.Resources[0]
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return ""
	}
	return key[:i+1] + name
}

// redactValue replaces an encryption-context value that was refused as
// sensitive.
const redactValue = "(redacted: refused as sensitive)"

// redactContext returns a copy of params whose encryption contexts hold
// redactValue in place of the values of the keys findings name.
func redactContext(params map[string]any, findings []audit.Finding) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		out[k] = v
	}
	for _, name := range []string{"encryptionContext", "sourceEncryptionContext", "destinationEncryptionContext"} {
		ec, ok := params[name].(map[string]string)
		if !ok {
			continue
		}
		cp := make(map[string]string, len(ec))
		for k, v := range ec {
			cp[k] = v
		}
		for _, f := range findings {
			if _, ok := cp[f.Key]; ok {
				cp[f.Key] = redactValue
			}
		}
		out[name] = cp
	}
	return out
}

// recordServiceEvent records what the service did by itself.
func (s *Server) recordServiceEvent(name string, k store.Key) {
	ev := &audit.Event{
		EventTime:           time.Now().UTC(),
		EventSource:         eventSources["kms"],
		EventName:           name,
		AWSRegion:           k.Region,
		SourceIPAddress:     "kms.amazonaws.com",
		UserAgent:           "kms.amazonaws.com",
		EventType:           audit.EventTypeServer,
		ManagementEvent:     true,
		UserIdentity:        audit.UserIdentity{AccountID: k.AccountID, InvokedBy: "kms.amazonaws.com"},
		Resources:           []audit.Resource{{AccountID: k.AccountID, Type: "AWS::KMS::Key", ARN: k.ARN}},
		RecipientAccountID:  k.AccountID,
		ServiceEventDetails: map[string]any{"keyId": k.ARN},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.audit.Append(ctx, ev); err != nil {
		s.log.Error("server: audit record of a service event failed", "event", name, "key", k.ARN, "err", err)
	}
}

func identityOf(c *caller.Caller) audit.UserIdentity {
	id := audit.UserIdentity{
		Type:        c.Type,
		PrincipalID: c.UserID,
		ARN:         c.ARN,
		AccountID:   c.AccountID,
		AccessKeyID: c.AccessKeyID,
		UserName:    c.UserName,
	}
	if c.Type == caller.TypeAssumedRole {
		id.SessionContext = &audit.SessionContext{
			SessionIssuer: &audit.SessionIssuer{Type: "Role", PrincipalID: strings.SplitN(c.UserID, ":", 2)[0], ARN: c.RoleARN, AccountID: c.AccountID, UserName: c.RoleName},
			Attributes:    audit.SessionAttrs{CreationDate: c.SessionIssued.UTC().Format(time.RFC3339), MFAAuthenticated: "false"},
		}
	}
	return id
}

// accountOfARN returns the account field of arn:partition:service:region:account:...
func accountOfARN(arn string) string {
	rest := arn
	for range 4 {
		_, after, ok := strings.Cut(rest, ":")
		if !ok {
			return ""
		}
		rest = after
	}
	account, _, _ := strings.Cut(rest, ":")
	return account
}

func remoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}
